#!/usr/bin/env python3
"""A cold fill against its floor, in turns on one repository: the decrypt+parse floor of every
record file (bench/floor.py, one process per core, as a fill runs) and a cold `cpcm list` (the
worker's cache removed first), each run `--runs` times alternately, with their medians and the
ratios in CPU and wall time (issue 17's goal: a cold fill within 1.5x the floor).

    .venv/bin/python bench/coldfill.py [--size 10000] [--followups 0] [--runs 3] [--out bench/out]

The repository is built once under OUT/repos (bench/run.py's `build_repo`) and re-used: `--size`
registered cases, a thousand of them assessed and planned (the bench's repository: about 1.4
records a case), or with `--followups K` every case assessed, planned (the plan approved) and
followed up K times a month apart (case files after months of work: about K+6 records a case).
What a fill spends besides decrypting and parsing is mostly each case's (its fold, its due and
statistics entries, its table rows), so the ratio depends on how many records a case holds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402
import run  # noqa: E402


def repository(size: int, followups: int, out: Path, rebuild: bool) -> tuple[Path, Path]:
    """(casefiles, identity) of the repository of `size` cases with `followups`, built once under `out`."""
    if not followups:
        root, identity, _ = run.ensure_repo(size, out, rebuild)
        return root, identity
    dest = out / "repos" / f"{size}-followups-{followups}"
    meta_path = dest / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and not rebuild else None
    if meta is None or meta.get("bench_format") != run.BENCH_FORMAT or meta.get("followups") != followups:
        print(f"building a repository of {size:,} cases, {followups} follow-ups each, in {dest} ...", file=sys.stderr, flush=True)
        meta = run.build_repo(size, dest, followups=followups)
        print(f"  built in {meta['build_seconds']} s", file=sys.stderr, flush=True)
    run.reset(dest / "casefiles", meta["base"])
    return dest / "casefiles", dest / "identity.txt"


def cold_list(root: Path, identity: Path) -> dict:
    """One `cpcm list` with the cache removed: CPU (user and system, its worker processes included), wall, and the
    peak as bench/run.py takes it (GNU time's, where the machine has it: a process forked from this one would
    otherwise report this one's peak, the floor's included)."""
    shutil.rmtree(root / ".cpcm" / "cache", ignore_errors=True)
    wall, cpu, code, _, errors = run.run_process([str(run.CPCM), "list"], run.cpcm_env(root, identity, tty=False), False)
    if code != 0:
        raise RuntimeError(f"cpcm list exited {code}: {errors.decode(errors='replace')}")
    return {"cpu": cpu, "wall": wall, "peak_mb": run.PEAK["last"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="cases in the repository (default 10,000)")
    parser.add_argument("--followups", type=int, default=0,
                        help="every case assessed, planned and followed up this many times (default 0: the bench's repository)")
    parser.add_argument("--runs", type=int, default=3, help="turns of the floor and the cold list (default 3)")
    parser.add_argument("--out", default=str(HERE / "out"), help="where the repository is kept (default bench/out)")
    parser.add_argument("--rebuild", action="store_true", help="build the repository again")
    args = parser.parse_args()
    root, identity = repository(args.size, args.followups, Path(args.out), args.rebuild)
    floors, fills = [], []
    for turn in range(1, args.runs + 1):
        found = floor.measure(root, identity, jobs=0)
        floors.append(found)
        fills.append(cold_list(root, identity))
        print(f"turn {turn}: floor {found['floor']:.2f} s CPU ({found['wall']:.2f} s wall); cold list {fills[-1]['cpu']:.2f} s CPU, "
              f"{fills[-1]['wall']:.2f} s wall, {fills[-1]['peak_mb']:.0f} MB; load {os.getloadavg()[0]:.1f}", flush=True)
    cores = floors[0]["cores"]
    floor_cpu = statistics.median(f["floor"] for f in floors)
    fill_cpu = statistics.median(f["cpu"] for f in fills)
    fill_wall = statistics.median(f["wall"] for f in fills)
    print(f"{floors[0]['records']:,} records in {floors[0]['cases']:,} cases ({floors[0]['records'] / max(floors[0]['cases'], 1):.1f} a case)")
    print(f"median floor {floor_cpu:.2f} s CPU ({floor_cpu / cores:.2f} s spread over {cores} cores); "
          f"median cold list {fill_cpu:.2f} s CPU, {fill_wall:.2f} s wall")
    print(f"ratio: {fill_cpu / floor_cpu:.2f}x in CPU, {fill_wall / (floor_cpu / cores):.2f}x in wall time (goal: 1.5x)")


if __name__ == "__main__":
    main()
