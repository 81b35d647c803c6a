#!/usr/bin/env python3
"""What a change of a few records costs git with the `cases` folder flat (`cases/CP-XXXX-XXXX/`,
casefile format 1) and in two levels (`cases/XX/CP-XXXX-XXXX/`, format 2 since cpcm 0.2.0: 1,024
folders named by the first two characters of the ID), at several repository sizes: git alone, no
cpcm.

    python3 bench/layout.py [--sizes 1000,10000,100000] [--records 10] [--runs 5] [--out bench/out]

For each size and layout it builds a repository once (under OUT/layout/, with `git fast-import`:
each case a `recipients` file and one or two record files, as the bench's cases) and then, per
run, times the steps of a sync that grow with the trees a commit rewrites:

- `commit`: `git fast-import` writes a commit of `--records` new record files in as many cases on
  top of the base (as the merge writes its tree);
- `diff`: `git diff-tree -r` of the base and that commit (what arrived, what to check out);
- `carry`: the new commit, its trees on the changed paths and the new files (`diff-tree -r -t`),
  `pack-objects --stdout` of those and `unpack-objects` in another repository that has the base
  (through alternates), as the carry to and from a folder remote does (store/carry.py).

Figures are the CPU time (user + sys) of the git processes, medians of the runs. What does not
depend on the layout (git's index, start-up, cpcm's own work) is not measured here: see
bench/sync.py for a whole sync.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org", "GIT_CONFIG_NOSYSTEM": "1",
       "GIT_CONFIG_GLOBAL": os.devnull}
BLOBS = 256  # distinct record contents: a tree's size, not its blobs, is what is measured


def case_ids(count: int, rng: random.Random) -> list[str]:
    ids: set[str] = set()
    while len(ids) < count:
        ids.add("CP-" + "".join(rng.choice(ALPHABET) for _ in range(4)) + "-" + "".join(rng.choice(ALPHABET) for _ in range(4)))
    return sorted(ids)


def folder(case_id: str, nested: bool) -> str:
    return f"cases/{case_id[3:5]}/{case_id}" if nested else f"cases/{case_id}"


def record_name(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(26)) + ".note.yaml.age"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, env=ENV)
    if done.returncode:
        sys.exit(f"git {' '.join(args)} failed in {repo}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def blob(data: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(data), data)


def build(repo: Path, ids: list[str], nested: bool, rng: random.Random) -> None:
    """One commit holding every case (`refs/heads/base`), its trees written by `git mktree
    --batch` (fast-import lays a 100,000-entry folder out in time that grows with its square)."""
    if (repo / "built").exists():
        return
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "--bare")
    contents = [rng.randbytes(300) for _ in range(BLOBS)] + [b"age1recipient\nage1supervisor\n"]
    blobs = [git(repo, "hash-object", "-w", "--stdin", data=data).decode().strip() for data in contents]
    batch = []
    for _ in ids:
        entries = [f"100644 blob {blobs[-1]}\trecipients"]
        entries += [f"100644 blob {rng.choice(blobs[:-1])}\t{record_name(rng)}" for _ in range(1 if rng.random() < 0.6 else 2)]
        batch.append("\n".join(entries) + "\n")
    trees = mktrees(repo, batch)
    folders = dict(zip(ids, trees))
    if nested:
        buckets: dict[str, list[str]] = {}
        for case_id in ids:
            buckets.setdefault(case_id[3:5], []).append(f"040000 tree {folders[case_id]}\t{case_id}")
        names = sorted(buckets)
        folders = dict(zip(names, mktrees(repo, ["\n".join(buckets[name]) + "\n" for name in names])))
    cases = mktrees(repo, ["".join(f"040000 tree {tree}\t{name}\n" for name, tree in sorted(folders.items()))])[0]
    root = mktrees(repo, [f"040000 tree {cases}\tcases\n"])[0]
    commit = git(repo, "commit-tree", root, "-m", "base").decode().strip()
    git(repo, "update-ref", "refs/heads/base", commit)
    (repo / "built").write_text("")


def mktrees(repo: Path, listings: list[str]) -> list[str]:
    """The ids of the trees of `listings` (each `ls-tree` lines), written by one `git mktree --batch`."""
    out = git(repo, "mktree", "--batch", data="\n".join(listings).encode() + b"\n").decode().split()
    if len(out) != len(listings):
        sys.exit(f"git mktree --batch gave {len(out)} trees for {len(listings)} listings")
    return out


def change(repo: Path, ids: list[str], nested: bool, records: int, run: int, rng: random.Random) -> str:
    """A commit of `records` new record files in as many cases on top of the base; its id."""
    stream = bytearray(b"commit refs/heads/run%d\ncommitter bench <bench@example.org> 1700000000 +0000\n" % run)
    stream += blob(b"run %d" % run) + b"from refs/heads/base\n"
    for case_id in rng.sample(ids, records):
        path = f"{folder(case_id, nested)}/{record_name(rng)}".encode()
        stream += b"M 100644 inline %s\n" % path + blob(rng.randbytes(300))
    stream += b"\ndone\n"
    git(repo, "fast-import", "--quiet", "--done", data=bytes(stream))
    return git(repo, "rev-parse", f"refs/heads/run{run}").decode().strip()


def carry(repo: Path, receiver: Path, new: str) -> None:
    """The new commit, its root tree and the trees and blobs on the paths it changed (from
    `diff-tree -r -t`, as store/carry.py finds them), packed and unpacked."""
    changed = git(repo, "diff-tree", "-r", "-t", "-z", "refs/heads/base", new).split(b"\0")
    objects = {new.encode(), git(repo, "rev-parse", f"{new}^{{tree}}").strip()}
    objects.update(meta.split()[3] for meta in changed[0::2] if meta.startswith(b":"))
    pack = git(repo, "-c", "pack.compression=0", "pack-objects", "--stdout", "-q",
               data=b"".join(oid + b"\n" for oid in sorted(objects)))
    git(receiver, "-c", "core.looseCompression=0", "unpack-objects", "-q", data=pack)


def measure(out: Path, size: int, nested: bool, records: int, runs: int) -> dict[str, float]:
    rng = random.Random(size)
    ids = case_ids(size, rng)
    name = f"{size}-{'nested' if nested else 'flat'}"
    repo = out / "layout" / name
    build(repo, ids, nested, random.Random(size))
    times: dict[str, list[float]] = {"commit": [], "diff": [], "carry": []}
    for run in range(runs):
        receiver = out / "layout" / f"{name}-receiver"
        shutil.rmtree(receiver, ignore_errors=True)
        git(out, "init", "-q", "--bare", str(receiver))
        (receiver / "objects" / "info" / "alternates").write_text(str((repo / "objects").resolve()) + "\n")
        start = cpu()
        new = change(repo, ids, nested, records, run, rng)
        times["commit"].append(cpu() - start)
        start = cpu()
        git(repo, "diff-tree", "-r", "refs/heads/base", new)
        times["diff"].append(cpu() - start)
        start = cpu()
        carry(repo, receiver, new)
        times["carry"].append(cpu() - start)
        git(repo, "update-ref", "-d", f"refs/heads/run{run}")
        shutil.rmtree(receiver)
    return {step: statistics.median(values) for step, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{args.records} new records in as many cases; CPU ms of git, median of {args.runs} runs")
    print(f"{'cases':>8} {'layout':<7} {'commit':>8} {'diff':>8} {'carry':>8} {'total':>8}")
    for size in sizes:
        for nested in (False, True):
            found = measure(args.out, size, nested, args.records, args.runs)
            total = sum(found.values())
            print(f"{size:>8} {'nested' if nested else 'flat':<7} " + " ".join(f"{found[s] * 1000:8.1f}" for s in found)
                  + f" {total * 1000:8.1f}", flush=True)


if __name__ == "__main__":
    main()
