"""git through its command line: fast on large repositories, and what a user can inspect.

Commit messages are fixed templates (verb, case ID, record ID); never free text.

git runs with an environment cpcm builds from nothing (`git_env`), never the caller's: a
`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE` or `GIT_OBJECT_DIRECTORY` in the caller's
environment would otherwise send cpcm's commits into another repository, and the caller's
global git configuration (hooks path, excludes file, signing) would change what a commit is.
Every call names the repository explicitly (`--git-dir`, `--work-tree`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from cpcm.errors import CpcmError
from cpcm.store.faults import crash_point

INDEX_LOCK = ".git/index.lock"


BULK_FROM = 64  # files in one commit from which they are staged together (`Git._stage_many`)
TREES_REF = b"refs/cpcm/batch-trees"  # the ref of `_stage_many`'s import while it runs: deleted in the same import


class GitError(CpcmError):
    exit_code = 6


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    email: str
    date: str
    message: str
    files: tuple[str, ...] = ()


# Kept from the caller: where programs are, the time zone of commit dates, where temp files go.
_KEEP = ("PATH", "TZ", "TMPDIR", "SYSTEMROOT")


def git_env(extra: dict | None = None) -> dict[str, str]:
    """The whole environment git gets: only what cpcm sets. No GIT_* variable of the caller,
    no global or system configuration (HOME and XDG_CONFIG_HOME point nowhere), messages in
    English, no prompts, and no optional locks: read-only git commands (status) must not take
    .git/index.lock, which only a cpcm writer holding the repository lock may take."""
    env = {name: os.environ[name] for name in _KEEP if name in os.environ}
    env.update({
        "LC_ALL": "C", "LANG": "C",
        "HOME": os.devnull, "XDG_CONFIG_HOME": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0",
    })
    env.update(_CONFIG)
    if extra:
        env.update(extra)
    return env


# Repository settings every git command of cpcm runs with (given in the environment, so they hold
# for a repository made before they were chosen, with no change to its .git/config):
# a split index, so adding a file writes a small index instead of rewriting the whole of it
# (an entry for every file of every case), and version 4 for a new index (shorter: paths
# prefix-compressed). Both are local formats of git's index: nothing committed changes.
_SETTINGS = (("core.splitIndex", "true"), ("index.version", "4"))
_CONFIG = {"GIT_CONFIG_COUNT": str(len(_SETTINGS))}
for _n, (_key, _value) in enumerate(_SETTINGS):
    _CONFIG[f"GIT_CONFIG_KEY_{_n}"], _CONFIG[f"GIT_CONFIG_VALUE_{_n}"] = _key, _value


def _with_settings(*settings: tuple[str, str]) -> dict[str, str]:
    """The environment that adds `settings` to `_SETTINGS` for one git command."""
    env = {"GIT_CONFIG_COUNT": str(len(_SETTINGS) + len(settings))}
    for n, (key, value) in enumerate(settings, start=len(_SETTINGS)):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    return env


def _ident_name(name: str) -> str:
    """A name as git writes it in an author line (git's own clean-up: no '<', '>' or line break,
    no leading or trailing space or punctuation)."""
    cleaned = "".join(c for c in name if c not in "<>\n\r\0")
    return cleaned.strip(" .,:;'\"\\\t") or "cpcm"


def _utc_offset() -> str:
    offset = int(time.localtime().tm_gmtoff or 0) // 60
    sign = "-" if offset < 0 else "+"
    return f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


_SEP = "\x1f"
_FORMAT = _SEP.join(["%H", "%an", "%ae", "%aI", "%s"])


class Background:
    """`function(*args, **kwargs)` run in a thread from the moment this is made (a git command:
    the thread waits on the process); `result()` waits for it and returns or raises what it did."""

    def __init__(self, function: Callable, *args, **kwargs):
        import threading

        self._out: tuple = (None, None)
        self._thread = threading.Thread(target=self._run, args=(function, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, function: Callable, args: tuple, kwargs: dict) -> None:
        try:
            self._out = (function(*args, **kwargs), None)
        except BaseException as exc:  # noqa: BLE001 - raised again by result(), in the caller's thread
            self._out = (None, exc)

    def join(self) -> None:
        self._thread.join()

    def result(self):
        self._thread.join()
        value, error = self._out
        if error is not None:
            raise error
        return value


class Git:
    def __init__(self, root: Path, signer=None):
        self.root = root
        self.rev = "HEAD"  # the commit readers read (a pinned commit while another cpcm writes)
        # the acting worker's signing key (crypto/signing.py SigningKey): every commit is signed with it
        self.signer = signer

    def command(self, args: Sequence[str]) -> list[str]:
        root = os.path.abspath(self.root)
        return ["git", f"--git-dir={os.path.join(root, '.git')}", f"--work-tree={root}", "-c", "core.quotepath=off", *args]

    def run(self, args: Sequence[str], env: dict | None = None, input: bytes | None = None) -> str:
        crash_point(f"git-{args[0]}")
        try:
            done = subprocess.run(self.command(args), cwd=self.root, env=git_env(env), input=input, capture_output=True)
        except FileNotFoundError:
            raise GitError("git is not installed", "Install git (apt-get install git) and try again.") from None
        if done.returncode != 0:
            raise self._failed(args, done.returncode, done.stderr)
        crash_point(f"git-{args[0]}-done")
        return done.stdout.decode("utf-8", "replace")

    def _failed(self, args: Sequence[str], code: int, stderr: bytes) -> GitError:
        # git's stderr names only paths and refs, which hold no personal data
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        text = " ".join(detail)
        if "index.lock" in text:
            return self.index_locked(args[0])
        return GitError(f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(code)}")

    def index_locked(self, verb: str) -> GitError:
        return GitError(
            f"git {verb} failed: {INDEX_LOCK} exists in the casefile repository {self.root}",
            "Another git command may be running in it. If none is (no git and no cpcm running there), remove the "
            f"file: rm {os.path.join(self.root, INDEX_LOCK)} (cpcm removes it itself after an interrupted cpcm write).",
        )

    def init(self) -> None:
        try:
            done = subprocess.run(["git", "init", "-q", "-b", "main", os.path.abspath(self.root)], cwd=self.root,
                                  env=git_env(), capture_output=True)
        except FileNotFoundError:
            raise GitError("git is not installed", "Install git (apt-get install git) and try again.") from None
        if done.returncode != 0:
            raise self._failed(["init"], done.returncode, done.stderr)

    def commit(self, paths: Iterable[str], message: str, author: str, email: str,
               ready: Callable[[], None] | None = None) -> str:
        """Stage `paths` (added, changed or deleted) and commit them as one commit by `author`.

        Plumbing, not `git commit` (which looks at every file of the working tree again): stage
        the paths (`git add`, which writes the split index: a small file), write the tree from the
        index (`write-tree`), make the signed commit object (`commit_object`), then move the branch to it
        (`update-ref`, given the commit it must still point at). The commit exists for readers
        only once `update-ref` is done; a crash before that leaves staged files that the next
        command's recovery rolls back (store/casestore.py `recover`). `ready()`: called just before
        `update-ref` (a batch waits there for its files' flush, which ran while git staged them)."""
        paths = sorted(set(paths))
        parent, parent_tree = self._head_and_tree()
        if len(paths) >= BULK_FROM and not any(os.path.isdir(os.path.join(self.root, p)) for p in paths):
            self._stage_many(paths, parent)
        else:
            for start in range(0, len(paths), 2000):
                self.run(["add", "-A", "--", *paths[start:start + 2000]])
        tree = self.run(["write-tree"]).strip()
        if tree == parent_tree:
            raise GitError("git commit failed: nothing to commit")
        sha = self.commit_object(tree, [parent] if parent else [], message, author, email)
        if ready is not None:
            ready()
        env = {"GIT_COMMITTER_NAME": _ident_name(author), "GIT_COMMITTER_EMAIL": email}
        self.run(["update-ref", "-m", f"commit: {message}", "HEAD", sha, parent or "0" * 40], env=env)
        self._gc_when_due()
        return sha

    def _stage_many(self, paths: Sequence[str], parent: str | None = None) -> None:
        """Stage many files at once (a batch): their contents go into git as one pack (`git
        fast-import`) rather than a loose object file each, while `update-index --info-only` reads
        the paths from its input (`git add` matches each of its arguments against every entry of
        the index: minutes for 10,000 files in a large repository), hashes each file and keeps its
        stat data, writing no object. A deleted file leaves the index (`--remove`). `write-tree`
        then refuses an index that names an object git does not have.

        With `parent` (the commit the new one will follow), the same fast-import also builds the
        folders' trees of `parent` with these changes, into the pack: `write-tree` then finds
        every tree it makes already there, instead of writing each changed folder's tree as a
        loose object file (10,000 of them for a batch of 10,000 reviews). It builds them as an
        unsigned commit that no ref keeps (its ref is deleted in the same import); `write-tree`
        stays what the commit's tree is made from, so trees that differ are written as before."""
        stream = bytearray()
        changes = []
        for number, rel in enumerate(paths, start=1):
            try:
                with open(os.path.join(self.root, rel), "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                changes.append(b"D %s\n" % rel.encode("utf-8"))
                continue  # deleted: --remove takes it out of the index
            stream += b"blob\nmark :%d\ndata %d\n" % (number, len(data)) + data + b"\n"
            changes.append(b"M 100644 :%d %s\n" % (number, rel.encode("utf-8")))
        if parent and not any("\n" in rel or rel.startswith('"') for rel in paths):
            stream += (b"commit %s\ncommitter cpcm <cpcm> 0 +0000\ndata 0\nfrom %s\n" % (TREES_REF, parent.encode())
                       + b"".join(changes) + b"\nreset %s\nfrom %s\n\n" % (TREES_REF, b"0" * 40))
        importing = None
        if stream:
            # neither delta search nor compression: encrypted files have no deltas and do not compress (half of
            # the import's time went to trying); gc packs the trees better later
            importing = Background(self.run, ["fast-import", "--quiet", "--done", "--depth=0"], input=bytes(stream) + b"done\n",
                                    env=_with_settings(("pack.compression", "0")))
        try:
            # meanwhile (the index names objects by their ids, which need not be stored yet: `write-tree`,
            # after both, is what needs them)
            self.run(["update-index", "--add", "--remove", "--info-only", "-z", "--stdin"],
                     input=b"".join(p.encode("utf-8") + b"\0" for p in paths))
        except BaseException:
            if importing is not None:
                importing.join()  # its own error, if any, is not the one to report
            raise
        if importing is not None:
            importing.result()

    def commit_object(self, tree: str, parents: Sequence[str], message: str, author: str, email: str) -> str:
        """Write a commit object (what `git commit-tree` makes), signed by `self.signer` when there
        is one: the object's text is built here and its SSH signature added as the `gpgsig`
        header, exactly as git does with `gpg.format=ssh`, then `git hash-object` stores it. No
        process signs and no secret key is written anywhere."""
        stamp = f"{_ident_name(author)} <{email}> {int(time.time())} {_utc_offset()}"
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents), f"author {stamp}", f"committer {stamp}"]
        payload = ("\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n").encode("utf-8")
        if self.signer is not None:
            from cpcm.crypto.signing import commit_with_signature

            payload = commit_with_signature(payload, self.signer.sign(payload))
        return self.run(["hash-object", "-t", "commit", "-w", "--stdin"], input=payload).strip()

    def _gc_when_due(self) -> None:
        """Pack loose objects when git would (`git commit` runs `gc --auto`; the plumbing does not):
        tens of thousands of loose objects make every later write slower. Looks at one of the 256
        object folders, as git itself does."""
        try:
            loose = len(os.listdir(os.path.join(self.root, ".git", "objects", "17")))
        except OSError:
            return
        if loose * 256 > 6700:  # git's gc.auto
            try:
                self.run(["gc", "--auto", "--quiet"])
            except GitError:
                pass  # packing is an optimisation; the commit is made

    def _head_and_tree(self) -> tuple[str | None, str | None]:
        """The commit HEAD names and its tree (None, None before the first commit). Read from the
        files when they are as cpcm's own writes leave them (HEAD naming a branch whose ref is a
        loose file or in packed-refs, the commit a loose object): one git process less a write.
        Anything else asks git."""
        known = _read_head_and_tree(os.path.join(os.path.abspath(self.root), ".git"))
        if known is not None:
            return known
        try:
            out = self.run(["rev-parse", "HEAD", "HEAD^{tree}"]).split()
        except GitError:
            return None, None
        return (out[0], out[1]) if len(out) == 2 else (None, None)

    def head(self) -> str | None:
        try:
            return self.run(["rev-parse", "--verify", "-q", "HEAD"]).strip() or None
        except GitError:
            return None

    def log(self, paths: Sequence[str] = (), added_only: bool = False, limit: int | None = None) -> list[Commit]:
        args = ["log", f"--format={_SEP}{_FORMAT}", "--name-only"]
        if added_only:
            args.append("--diff-filter=A")
        if limit:
            args.append(f"-n{limit}")
        if self.head() is None:
            return []
        out = self.run([*args, self.rev, "--", *paths])
        commits: list[Commit] = []
        files: list[str] = []
        for line in out.splitlines():
            if line.startswith(_SEP):
                fields = line[1:].split(_SEP)
                files = []
                commits.append(Commit(fields[0], fields[1], fields[2], fields[3], _SEP.join(fields[4:]), files))  # type: ignore[arg-type]
            elif line.strip() and commits:
                files.append(line)
        commits = [Commit(c.sha, c.author, c.email, c.date, c.message, tuple(c.files)) for c in commits]
        return commits

    def tree_ids(self, folder: str) -> dict[str, str]:
        """name → tree id of each sub-folder of `folder` at the commit readers read (HEAD, or
        the commit pinned while another cpcm writes); empty before the first commit."""
        if self.head() is None:
            return {}
        try:
            out = self.run(["ls-tree", f"{self.rev}:{folder}"])
        except GitError:
            return {}
        trees = {}
        for line in out.splitlines():
            meta, _, name = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "tree":
                trees[name] = parts[2]
        return trees

    def tree_id(self, folder: str) -> str | None:
        """The git tree id of `folder` (a top-level folder such as cases/) at the commit readers
        read; None before the first commit or when the commit has no such folder. Read from git's
        files when the last commit's tree is a loose object, as a cpcm commit leaves it (no
        process); otherwise one `git ls-tree`. A table that records the tree it describes is
        checked as a whole against it, whatever the number of cases."""
        if self.rev == "HEAD":
            head, root = self._head_and_tree()
            if head is None:
                return None
            if root and "/" not in folder:
                found = _tree_entry(os.path.join(os.path.abspath(self.root), ".git"), root, folder)
                if found is not False:
                    return found
        try:
            meta = self.run(["ls-tree", "-z", self.rev, "--", folder]).partition("\t")[0].split()
        except GitError:
            return None
        return meta[2] if len(meta) == 3 and meta[1] == "tree" else None

    def changed_names(self, old_tree: str, new_tree: str) -> set[str]:
        """The names directly under two versions of one folder (two tree ids, as `tree_id` gives)
        whose content differs: added, removed or changed. Proportional to what changed, not to
        the folder (git compares sub-tree ids and descends only where they differ)."""
        out = self.run(["diff-tree", "--name-only", "-z", old_tree, new_tree])
        return {name for name in out.split("\0") if name}

    def changes(self, old: str, new: str) -> dict[str, str | None]:
        """The files that differ between two commits (added, removed or changed): path -> its
        blob id in `old` (None: not in `old`). Proportional to the change, not to the repository
        (git descends only into the sub-trees whose ids differ)."""
        fields = self.run(["diff-tree", "-r", "-z", "--no-renames", old, new]).split("\0")
        found: dict[str, str | None] = {}
        for meta, path in zip(fields[0::2], fields[1::2]):
            blob = meta.split()[2]
            found[path] = None if blob.strip("0") == "" else blob
        return found

    def edited(self, expected: Mapping[str, str | None]) -> list[str]:
        """The files of the working tree that are not as `expected` (path -> blob id; None: no
        file there): edited, deleted or added by hand. Reads those files only, not the whole tree
        (`git status` reads every folder: over a second at 10,000 cases)."""
        found = []
        for path, blob in sorted(expected.items()):
            try:
                with open(os.path.join(self.root, path), "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                data = None
            except OSError:  # a folder where a file was, or unreadable: not what the commit holds
                found.append(path)
                continue
            if data is None:
                if blob is not None:
                    found.append(path)
            elif blob is None or hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() != blob:
                found.append(path)
        return found


_SHA = frozenset("0123456789abcdef")


def _is_sha(text: str) -> bool:
    return len(text) == 40 and set(text) <= _SHA


def _tree_entry(git_dir: str, tree: str, name: str) -> str | None | bool:
    """The id of the folder `name` in the tree object `tree`, read from its loose file; None when
    the tree has no such folder; False when the object is not a plain loose file (git answers)."""
    try:
        with open(os.path.join(git_dir, "objects", tree[:2], tree[2:]), "rb") as handle:
            data = zlib.decompress(handle.read())
    except (OSError, zlib.error):
        return False
    header, _, body = data.partition(b"\0")
    if not header.startswith(b"tree "):
        return False
    at, wanted = 0, name.encode("utf-8")
    try:
        while at < len(body):  # entries: "<mode> <name>\0<20-byte id>"
            space = body.index(b" ", at)
            nul = body.index(b"\0", space)
            if body[space + 1:nul] == wanted:
                return body[nul + 1:nul + 21].hex() if body[at:space] == b"40000" else None
            at = nul + 21
    except ValueError:
        return False  # not a tree as git writes it
    return None


def _read_head_and_tree(git_dir: str) -> tuple[str | None, str | None] | None:
    """(HEAD's commit, its tree) read from the repository's files, (None, None) on an unborn
    branch, None when they are not plainly readable (git answers then)."""
    try:
        with open(os.path.join(git_dir, "HEAD"), "rb") as handle:
            head = handle.read().decode("ascii").strip()
        if not head.startswith("ref: refs/heads/"):
            return None
        ref = head[5:]
        sha = None
        try:
            with open(os.path.join(git_dir, *ref.split("/")), "rb") as handle:
                sha = handle.read().decode("ascii").strip()
        except FileNotFoundError:
            try:
                with open(os.path.join(git_dir, "packed-refs"), "rb") as handle:
                    packed = handle.read().decode("ascii", "replace").splitlines()
            except FileNotFoundError:
                packed = []
            sha = next((line[:40] for line in packed if line[41:] == ref and _is_sha(line[:40])), None)
            if sha is None:
                return None if packed else (None, None)  # no packed ref and no file: the branch is unborn
        if not _is_sha(sha):
            return None
        with open(os.path.join(git_dir, "objects", sha[:2], sha[2:]), "rb") as handle:
            raw = zlib.decompressobj().decompress(handle.read(), 64)
    except (OSError, ValueError, zlib.error):
        return None  # packed, unusual, or unreadable: git knows
    header, _, body = raw.partition(b"\0")
    tree = body[5:45].decode("ascii", "replace")
    if not header.startswith(b"commit ") or body[:5] != b"tree " or not _is_sha(tree):
        return None
    return sha, tree
