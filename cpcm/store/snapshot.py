"""The committed tree of one commit, read from git's objects: what a reader sees while another
cpcm command is writing (its files on disk may be new and not yet committed, or about to be
rolled back). Only ciphertext and plaintext `recipients` lists pass through here, as on disk.
"""
from __future__ import annotations

import subprocess
from typing import Iterable

from cpcm.store.git import Git, GitError, git_env


class Snapshot:
    def __init__(self, git: Git, commit: str | None):
        self.git = git
        self.commit = commit
        self.files: dict[str, str] = {}  # path → blob id
        self.folders: dict[str, set[str]] = {}  # folder → names of its files and sub-folders
        if commit:
            out = git.run(["ls-tree", "-r", "-z", "--full-tree", commit])
            for entry in out.split("\0"):
                meta, _, path = entry.partition("\t")
                parts = meta.split()
                if len(parts) == 3 and parts[1] == "blob":
                    self.files[path] = parts[2]
                    self._add(path)

    def _add(self, path: str) -> None:
        folder, _, name = path.rpartition("/")
        while True:
            names = self.folders.setdefault(folder, set())
            if name in names:
                return
            names.add(name)
            if not folder:
                return
            folder, _, name = folder.rpartition("/")

    def is_file(self, rel: str) -> bool:
        return rel in self.files

    def is_folder(self, rel: str) -> bool:
        return rel in self.folders

    def names(self, folder: str) -> list[str]:
        return sorted(self.folders.get(folder, ()))

    def subfolders(self, folder: str) -> list[str]:
        prefix = f"{folder}/" if folder else ""
        return [name for name in self.names(folder) if f"{prefix}{name}" in self.folders]

    def read(self, rel: str) -> bytes:
        return self.read_many([rel])[rel]

    def read_many(self, rels: Iterable[str]) -> dict[str, bytes]:
        """The contents of committed files, in one `git cat-file --batch`; FileNotFoundError
        for a path the commit does not hold."""
        rels = list(rels)
        missing = [rel for rel in rels if rel not in self.files]
        if missing:
            raise FileNotFoundError(missing[0])
        if not rels:
            return {}
        request = "".join(f"{self.files[rel]}\n" for rel in rels).encode()
        done = subprocess.run(self.git.command(["cat-file", "--batch"]), cwd=self.git.root, env=git_env(),
                              input=request, capture_output=True)
        if done.returncode != 0:
            raise GitError("git cat-file failed while reading the last commit")
        out, pos, found = done.stdout, 0, {}
        for rel in rels:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) != 3:
                raise GitError(f"git cat-file could not read {rel} from the last commit")
            size = int(header[2])
            found[rel] = out[end + 1:end + 1 + size]
            pos = end + 1 + size + 1
        return found
