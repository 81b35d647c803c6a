"""A casefile repository of format 1 (every case folder directly in cases/), as the releases before format 2
left them, made for tests from one of today's: every commit of its history written again with format-1 paths,
`format: 1` in its configuration and `.gitattributes` as those releases wrote it, by the same author, signed
with that worker's test key (keys/<worker>.txt next to the repository) when there is one, then the working
tree and the index put to match."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from cpcm.store.git import Git
from cpcm.store.layout import CASES, CONFIG


def format1_rel(rel: str) -> str:
    """A format-2 path as format 1 wrote it: cases/4F/CP-4F7K-9X2N/x -> cases/CP-4F7K-9X2N/x."""
    parts = rel.split("/", 3)
    if len(parts) == 4 and parts[0] == CASES and len(parts[1]) == 2:
        return f"{CASES}/{parts[2]}/{parts[3]}"
    return rel


# `.gitattributes` as the releases of format 1 wrote it (no `* -text` line: a git converting line endings converted
# the settings and `recipients` files of such a copy)
ATTRIBUTES1 = b"# record files are age ciphertext: never diff or merge them as text\n*.age binary -diff\n"


def _config1(data: bytes) -> bytes:
    return re.sub(rb"^format:[ \t]*\S*[ \t]*$", b"format: 1", data, count=1, flags=re.M)


def rewrite_as_format1(repo: Path) -> str:
    """Rewrite the history of `repo`'s branch in format 1 (this module's docstring); the new HEAD."""
    from cpcm.crypto import identity, signing

    plain = Git(repo)
    commits = plain.run(["rev-list", "--reverse", "--topo-order", "HEAD"]).split()
    done: dict[str, str] = {}
    index = os.path.join(repo, ".git", "format1-index")
    for sha in commits:
        raw = plain.run(["cat-file", "commit", sha])
        header, _, message = raw.partition("\n\n")
        parents = [done[line.split()[1]] for line in header.splitlines() if line.startswith("parent ")]
        author = next(line for line in header.splitlines() if line.startswith("author "))
        name, email = re.match(r"author (.*) <([^>]*)>", author).groups()
        lines = []
        for entry in plain.run(["ls-tree", "-r", "-z", "--full-tree", sha]).split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, _kind, blob = meta.split()
            if path == CONFIG:
                data = plain.run(["cat-file", "blob", blob]).encode()
                blob = plain.run(["hash-object", "-w", "--stdin"], input=_config1(data)).strip()
            elif path == ".gitattributes":
                blob = plain.run(["hash-object", "-w", "--stdin"], input=ATTRIBUTES1).strip()
            lines.append(f"{mode} {blob}\t{format1_rel(path)}")
        if os.path.exists(index):
            os.remove(index)
        plain.run(["update-index", "-z", "--index-info"], env={"GIT_INDEX_FILE": index},
                  input="\0".join(lines).encode() + b"\0")
        tree = plain.run(["write-tree"], env={"GIT_INDEX_FILE": index}).strip()
        key = repo.parent / "keys" / f"{email.split('@')[0]}.txt"
        signer = signing.for_identity(identity.load(key, lambda: None)) if key.exists() else None
        done[sha] = Git(repo, signer).commit_object(tree, parents, message, name, email)
    os.remove(index)
    head = done[commits[-1]]
    plain.run(["update-ref", "HEAD", head])
    for shard in sorted((repo / CASES).iterdir()):
        if shard.is_dir() and len(shard.name) == 2:
            for folder in shard.iterdir():
                os.rename(folder, repo / CASES / folder.name)
            shutil.rmtree(shard)
    plain.run(["read-tree", "HEAD"])
    plain.run(["update-index", "-q", "--refresh"])
    (repo / CONFIG).write_bytes(plain.run(["cat-file", "blob", f"HEAD:{CONFIG}"]).encode())
    (repo / ".gitattributes").write_bytes(ATTRIBUTES1)
    plain.run(["update-index", "-q", "--refresh"])
    return head
