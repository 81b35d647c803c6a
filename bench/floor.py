#!/usr/bin/env python3
"""The decrypt+parse floor of a cold fill: every record file of a repository decrypted and
parsed in one process with the calls the store makes (`cipher.decrypt`, `codec.loads`), timed
in CPU time. The files are read first (not counted), so the figure is the work no fill can skip;
a fill on N cores can at best spread it over them.

    .venv/bin/python bench/floor.py REPO IDENTITY [--sample N]

Prints the records and cases counted, the CPU time a record, the floor (CPU for every record)
and what it would be in wall time spread over the machine's cores. `--sample N`: time N records
drawn at random (a quicker estimate) instead of all of them. `--jobs N`: run it the way a cold
fill does, in N forked processes at once (0: one per core), each timing its own share: CPU time
of work done side by side on a loaded machine is not the CPU time of the same work done alone,
so a fill is compared with the floor measured the same way. `--slow-way`: pyrage and ruamel's
constructor for every record, as before the quick ways (the floor the goal was first set against).
"""
from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path


def record_files(root: Path) -> tuple[list[str], int]:
    from cpcm.store.layout import CASES, RECORD_FILE

    files: list[str] = []
    cases = 0
    with os.scandir(root / CASES) as levels:  # cases/XX/ID (store/layout.py)
        for level in levels:
            if not level.is_dir() or level.name.startswith("."):
                continue
            with os.scandir(level.path) as folders:
                for folder in folders:
                    if not folder.is_dir() or folder.name.startswith("."):
                        continue
                    cases += 1
                    with os.scandir(folder.path) as entries:
                        files.extend(e.path for e in entries if RECORD_FILE.match(e.name))
    return sorted(files), cases


_WORK: tuple = ()


def _timed(paths: list[str]) -> tuple[float, float]:
    """Read the files (not timed), then decrypt and parse each: (CPU seconds, of which decrypting)."""
    keys, cipher, codec = _WORK
    datas = []
    for path in paths:
        with open(path, "rb") as handle:
            datas.append(handle.read())
    started = time.process_time()
    decrypt = 0.0
    for data in datas:
        t0 = time.process_time()
        text = cipher.decrypt(data, keys)
        decrypt += time.process_time() - t0
        codec.loads(text)
    return time.process_time() - started, decrypt


def measure(repo: Path, identity_path: Path, jobs: int = 1, sample: int = 0, slow_way: bool = False) -> dict:
    """The floor of `repo`'s record files: {"records", "cases", "timed", "cpu" (of those timed), "decrypt" (of it),
    "floor" (CPU for every record), "wall" (files read included), "cores"}. `jobs`, `sample`, `slow_way`: as the options."""
    from cpcm.crypto import cipher, identity
    from cpcm.store import codec, yamllib

    if slow_way:
        cipher.QUICK_FROM = float("inf")
        yamllib.QUICK = False
        codec._SUBSET = False  # nor cpcm's own reader (store/emit.py): every record through ruamel

    keys = identity.load(identity_path, lambda: None).keys
    files, cases = record_files(repo)
    chosen = files
    if sample and sample < len(files):
        chosen = random.Random(1).sample(files, sample)
    global _WORK
    _WORK = (keys, cipher, codec)
    started_wall = time.perf_counter()
    if jobs == 1:
        cpu, decrypt = _timed(chosen)
    else:
        import multiprocessing

        count = jobs or len(os.sched_getaffinity(0))
        parts = [chosen[n::count] for n in range(count)]
        with multiprocessing.get_context("fork").Pool(count) as pool:
            done = pool.map(_timed, parts)
        cpu, decrypt = sum(d[0] for d in done), sum(d[1] for d in done)
    wall = time.perf_counter() - started_wall
    per = cpu / max(len(chosen), 1)
    return {"records": len(files), "cases": cases, "timed": len(chosen), "cpu": cpu, "decrypt": decrypt,
            "floor": per * len(files), "wall": wall, "cores": os.cpu_count() or 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("identity", type=Path)
    parser.add_argument("--sample", type=int, default=0, help="time this many records drawn at random (0: all)")
    parser.add_argument("--jobs", type=int, default=1, help="processes side by side, as a cold fill runs (0: one per core)")
    parser.add_argument("--slow-way", action="store_true",
                        help="open every file with pyrage and build the YAML with ruamel's constructor, as cpcm did "
                             "before the quick ways (crypto/agefile.py, codec's quick construction): the floor the "
                             "cold fill's goal was first set against")
    args = parser.parse_args()
    found = measure(args.repo, args.identity, args.jobs, args.sample, args.slow_way)
    timed, cpu, decrypt, floor, cores = found["timed"], found["cpu"], found["decrypt"], found["floor"], found["cores"]
    per = cpu / max(timed, 1)
    print(f"records {found['records']} in {found['cases']} cases; timed {timed}: {1000 * per:.3f} ms CPU a record "
          f"(decrypt {1000 * decrypt / max(timed, 1):.3f}, parse {1000 * (cpu - decrypt) / max(timed, 1):.3f}); "
          f"wall {found['wall']:.1f} s (files read included), {args.jobs or 'every core'} process(es)")
    print(f"floor: {floor:.1f} s CPU for every record; {floor / cores:.1f} s wall spread over {cores} cores; "
          f"1.5x: {1.5 * floor:.1f} s CPU; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
