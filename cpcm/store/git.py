"""git through its command line: fast on large repositories, and what a user can inspect.

Commit messages are fixed templates (verb, case ID, record ID); never free text.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from cpcm.errors import CpcmError


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


_SEP = "\x1f"
_FORMAT = _SEP.join(["%H", "%an", "%ae", "%aI", "%s"])


class Git:
    def __init__(self, root: Path):
        self.root = root

    def run(self, args: Sequence[str], env: dict | None = None, input: bytes | None = None) -> str:
        full_env = dict(os.environ)
        full_env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
        if env:
            full_env.update(env)
        try:
            done = subprocess.run(
                ["git", "-c", "core.quotepath=off", *args], cwd=self.root, env=full_env,
                input=input, capture_output=True,
            )
        except FileNotFoundError:
            raise GitError("git is not installed", "Install git (apt-get install git) and try again.") from None
        if done.returncode != 0:
            # git's stderr names only paths and refs, which hold no personal data
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(done.returncode)}")
        return done.stdout.decode("utf-8", "replace")

    def init(self) -> None:
        self.run(["init", "-q", "-b", "main"])

    def commit(self, paths: Iterable[str], message: str, author: str, email: str) -> str:
        """Stage `paths` (added, changed or deleted) and commit them as one commit by `author`."""
        paths = sorted(set(paths))
        env = {
            "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email,
        }
        for start in range(0, len(paths), 2000):
            self.run(["add", "-A", "--", *paths[start:start + 2000]])
        self.run(["commit", "-q", "--no-edit", "-m", message], env=env)
        return self.head() or ""

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
        out = self.run([*args, "--", *paths])
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
        """name → tree id of each sub-folder of `folder` at HEAD (empty before the first commit)."""
        if self.head() is None:
            return {}
        try:
            out = self.run(["ls-tree", f"HEAD:{folder}"])
        except GitError:
            return {}
        trees = {}
        for line in out.splitlines():
            meta, _, name = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "tree":
                trees[name] = parts[2]
        return trees

    def dirty(self, paths: Sequence[str] = ()) -> list[str]:
        out = self.run(["status", "--porcelain", "--untracked-files=all", "--", *paths])
        return [line[3:] for line in out.splitlines() if line.strip()]
