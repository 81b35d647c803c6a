"""Moving a casefile repository of format 1 to format 2 (store/layout.py `FORMAT_VERSION`): every case folder
from cases/CP-4F7K-9X2N/ to cases/4F/CP-4F7K-9X2N/. Nothing is decrypted or re-encrypted: the files keep their
bytes, and every case folder its git tree id (the caches keyed by them stay warm).

One commit by the worker running the command (`upgrade format 2`), then the folders are moved on disk, then git's
index is read again, and `.cpcm/config.yaml` on disk is written last. Each step can be run again: killed at any
point, the next command finds `format: 1` on disk and finishes what is left (the commit is not made twice). It
holds the repository lock and marks the working tree as being changed (store/lock.py), so another cpcm reads the
last commit meanwhile. The commit, and the folders moved, are the same on every copy of a team's repository, so a
sync of two copies each upgraded on its own merges as before (service/sync.py reads a format-1 tree's paths as
format 2, `layout.current_rel`).
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from cpcm.store import atomic, codec
from cpcm.store.git import Git, GitError, git_env
from cpcm.errors import Corrupt
from cpcm.store.layout import CASES, CONFIG, FORMAT_VERSION, LOCK, format1_case, format_of, shard
from cpcm.store.lock import RepoLock

VERB = "upgrade"
MESSAGE = f"{VERB} format {FORMAT_VERSION}"
# the value of the `format:` line (a comment after it, or the \r of a file checked out with Windows line endings, stays)
_FORMAT_LINE = re.compile(rb"""^["']?format["']?[ \t]*:[ \t]*[^\s#]*""", re.M)


def config_text(data: bytes) -> bytes:
    """A `.cpcm/config.yaml` with its `format:` line saying `FORMAT_VERSION` (added at the top when it has
    none); every other line, comments too, as it was."""
    line = f"format: {FORMAT_VERSION}".encode()
    if _FORMAT_LINE.search(data):
        changed = _FORMAT_LINE.sub(line, data, count=1)
    else:
        changed = line + (b"\r\n" if b"\r\n" in data else b"\n") + data
    if not _reads_as_format(changed):
        raise Corrupt(f"{CONFIG}: its format line could not be changed to format {FORMAT_VERSION}; nothing was changed",
                      CONFIG, f"Write the line as `format: 1` on a line of its own in {CONFIG} (commit it: git commit), "
                      "then run the command again.")
    return changed


def _reads_as_format(data: bytes) -> bool:
    """Whether a configuration changed by `config_text` reads (as config.py reads it) as this format."""
    try:
        loaded = codec.loads(data)
    except codec.BadYaml:
        return False
    return isinstance(loaded, dict) and loaded.get("format") == FORMAT_VERSION and format_of(data) == FORMAT_VERSION


def upgrade(root: Path, git: Git, author: str, email: str) -> bool:
    """Move the repository at `root` to format 2 (this module's docstring). Whether this run changed anything (False:
    another cpcm did it all meanwhile, while this one waited for the lock)."""
    lock = RepoLock(root / LOCK)
    lock.__enter__()
    try:
        lock.begin_write()
        made = _commit(git, author, email)
        moved = _move_folders(root)
        # always, not only when this run committed or moved: a run killed after both left the index on the paths
        # of before, and this step is what is left to do
        if git.head() is not None:
            git.run(["read-tree", "HEAD"])
            # the index's record of each file's size and time is lost with the paths: taken again once, here,
            # so that later reads compare files by their stat data and not their content
            subprocess.run(git.command(["update-index", "-q", "--refresh"]), cwd=root, env=git_env(),
                           capture_output=True)
        before = (root / CONFIG).read_bytes() if (root / CONFIG).exists() else None
        after = _config_on_disk(root, git)
        if after != before:
            atomic.write(root / CONFIG, after)
        lock.end_write()
    finally:
        lock.release()
    return bool(made or moved or after != before)


def _config_on_disk(root: Path, git: Git) -> bytes:
    """`.cpcm/config.yaml` as the upgrade leaves it on disk: the file there with its `format:` line changed
    (`config_text`), so that an edit by hand not committed yet stays as it was (cpcm verify names it, as before);
    the last commit's where there is none to read."""
    try:
        return config_text((root / CONFIG).read_bytes())
    except OSError:
        return git.run(["cat-file", "blob", f"HEAD:{CONFIG}"]).encode()


def _commit(git: Git, author: str, email: str) -> str | None:
    """The upgrade's commit (HEAD's tree as format 2 has it: store/remote.py `current_tree`, what a sync reads a
    format-1 commit as, so the two are one rule), made and put at HEAD; None when HEAD's config already says
    format 2."""
    from cpcm.store import remote

    head = git.head()
    if head is None:
        return None
    config = git.run(["cat-file", "blob", f"HEAD:{CONFIG}"]).encode()
    if format_of(config) >= FORMAT_VERSION:
        return None
    tree = remote.current_tree(git, head)
    commit = git.commit_object(tree, [head], MESSAGE, author, email)
    git.move_head(commit, head, MESSAGE, author, email)
    return commit


def _move_folders(root: Path) -> int:
    """Each case folder still directly in cases/ moved into its second level (`layout.shard`): a rename, so
    the folder and everything in it (a file a person put there too) moves at once. The number moved."""
    moved = 0
    try:
        entries = list(os.scandir(root / CASES))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False) or not format1_case(entry.name):
            continue  # a second-level folder, or no case's: where it is (cpcm verify names what is no case's)
        target = root / CASES / shard(entry.name)
        target.mkdir(exist_ok=True)
        if (target / entry.name).exists():
            raise GitError(f"{CASES}/{entry.name} and {CASES}/{shard(entry.name)}/{entry.name} are both there; "
                           "nothing more was moved", "Keep the one that matches the last commit (git status), move the "
                           "other out of the repository, and run the command again.")
        os.rename(entry.path, target / entry.name)
        moved += 1
    if moved:
        atomic.flush_file_system(root)
    return moved
