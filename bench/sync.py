#!/usr/bin/env python3
"""Sync and bundles at size: two laptops, each with 1,000 new records written apart, coming together.

    .venv/bin/python bench/sync.py [--size 10000] [--records 1000] [--out bench/out]
    .venv/bin/python bench/sync.py --size 1000,10000,100000 --records 10,100,1000

Builds (or re-uses) the bench repository of bench/run.py at `--size` cases, pushes it to a bare
remote and makes three clones, A, B and C. Each clone writes `--records` notes (one per case, on
different cases, through cpcm's own transaction, one commit) and runs `list` once (its views
made, as on a laptop in use); then, each timed as a user runs it (a fresh `cpcm` process):

- `sync` on A: pushes its records (nothing to merge);
- `sync` on B: fetches A's records, merges them with its own (a merge commit, recipients
  worked out again for every case touched) and pushes;
- `sync` on A again: takes B's merge (a fast-forward);
- `bundle create --since BASE` on a third clone C with its own new records, and `bundle apply` of
  it on A (a merge);
- `list` on A: its views brought up to date with the cases that arrived.

The remote is a folder, so a sync carries the objects itself (store/carry.py) rather than through
git's fetch and push; CPU time counts cpcm and every git it starts, the remote's side included.
Several sizes and record counts (comma-separated) run one after another: the table shows whether a
sync costs what arrived or what the repository holds. Prints the figures and writes
OUT/sync-results.json. docs/performance-log.md has the runs.

    .venv/bin/python bench/sync.py --simulate [--workers 5] [--days 60]

runs the simulation of tests/test_sync_simulation.py at size: a supervisor and caseworkers, each
on a clone, `--days` of random offline work, syncing in random pairs through a bare remote and
bundles, then a full round; it asserts that every copy ends identical with every record, that
verify is clean and that every conflict is a check problem, and prints the counts and the time.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run as bench_run  # noqa: E402  (bench/run.py: the repository builder)


def clone(bare: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(dest)], check=True)
    return dest


def write_notes(root: Path, identity: Path, case_ids: list[str]) -> None:
    """One note on each case, in one commit (what `cpcm note` writes, many times)."""
    from cpcm import service

    ctx = service.open_repo(root, identity)
    with bench_run.no_fsync(), service.transaction(ctx, "note") as tx:
        for case_id in case_ids:
            record = service.new_record(ctx, "note", case_id, {"text": "visited; all well (synthetic)"})
            tx.write_record(record, service.keys_for(ctx, ctx.store.recipients(case_id)))
        tx.commit(f"note batch {len(case_ids)} cases")


def timed(root: Path, identity: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_")}
    env.update(CPCM_REPO=str(root), CPCM_IDENTITY=str(identity))
    started = time.perf_counter()
    before = os.times()
    done = subprocess.run([sys.executable, "-m", "cpcm", *args, "--json"], env=env, capture_output=True, text=True)
    after = os.times()
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"cpcm {' '.join(args)} failed: {done.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    out = json.loads(done.stdout) if done.stdout.strip() else {}
    out = out if isinstance(out, dict) else {}
    return {"command": " ".join(args[:2]), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "records": out.get("records"), "merged": out.get("merged"), "fast_forward": out.get("fast_forward")}


def simulate(workers: int, days: int, out: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import NOW, Cli, make_identity
    from test_sync_simulation import simulate as run_simulation

    work = out / "simulation"
    shutil.rmtree(work, ignore_errors=True)
    (work / "keys").mkdir(parents=True)
    os.environ["TMPDIR"] = str(work)
    names = ["sup"] + [f"worker{i}" for i in range(1, workers)]
    keys = {name: (work / "keys" / f"{name}.txt", make_identity(work / "keys" / f"{name}.txt")) for name in names}
    root = work / "casefiles"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["sup"][0]), "CPCM_NOW": NOW})
    assert sup("init", "--agency", "SIM", "--name", "Simulation", "--worker", "sup", "--role", "supervisor").code == 0
    for name in names[1:]:
        assert sup("team", "add", name, "--role", "caseworker", "--recipient", keys[name][1]).code == 0
    started = time.perf_counter()
    stats = run_simulation(root, keys, work, names, days, 2026)
    stats.update(workers=workers, days=days, seconds=round(time.perf_counter() - started, 1))
    (out / "sync-simulation.json").write_text(json.dumps(stats, indent=2))
    print(json.dumps(stats, indent=2))


def measure(size: int, records: int, out: Path) -> dict:
    """The five steps of the docstring at one size, with `records` new records on each clone."""
    root, identity, meta = bench_run.ensure_repo(size, out, rebuild=False)
    work = out / "sync"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bare = work / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(bare)], check=True)
    laptops = {name: clone(bare, work / name) for name in ("a", "b", "c")}
    cache = root / ".cpcm" / "cache"
    if cache.is_dir():  # the laptops have used cpcm before: their caches as the bench repository's
        for laptop in laptops.values():
            shutil.copytree(cache, laptop / ".cpcm" / "cache", symlinks=True)
    ids = sorted(p.name for level in (root / "cases").iterdir() if level.is_dir()  # cases/XX/ID
                 for p in level.iterdir() if p.is_dir())
    random.Random(7).shuffle(ids)
    n = records
    if len(ids) < 3 * n:
        raise SystemExit(f"--records {n} needs at least {3 * n} cases")
    for index, name in enumerate(("a", "b", "c")):
        write_notes(laptops[name], identity, ids[index * n:(index + 1) * n])
    for name in ("a", "b", "c"):  # each laptop has used its copy before (its views made), as a worker's has
        timed(laptops[name], identity, "list")
    results = [
        timed(laptops["a"], identity, "sync"),                 # pushes A's records
        timed(laptops["b"], identity, "sync"),                 # merges A's with B's, pushes
        timed(laptops["a"], identity, "sync"),                 # takes B's merge
    ]
    bundle = work / "c.bundle"
    results.append(timed(laptops["c"], identity, "bundle", "create", str(bundle), "--since", meta["base"]))
    results.append(timed(laptops["a"], identity, "bundle", "apply", str(bundle)))
    results.append(timed(laptops["a"], identity, "list"))   # the views brought up to what arrived
    return {"size": size, "records_each": n, "results": results, "bundle_bytes": bundle.stat().st_size}


STEPS = ("sync (push)", "sync (merge)", "sync (take)", "bundle create", "bundle apply", "list after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10000", help="cases; several, comma-separated, to compare sizes")
    parser.add_argument("--records", default="1000", help="new records on each clone; several, comma-separated")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--simulate", action="store_true", help="Run the team simulation instead.")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    out = args.out.resolve()
    if args.simulate:
        simulate(args.workers, args.days, out)
        return
    runs = [measure(size, records, out) for size in map(int, args.size.split(","))
            for records in map(int, args.records.split(","))]
    report = {"machine": bench_run.machine(), "runs": runs}
    (out / "sync-results.json").write_text(json.dumps(report, indent=2))
    print(f"{'cases':>8} {'records':>8}  " + "  ".join(f"{step:>20}" for step in STEPS) + "   (CPU s / wall s)")
    for run in runs:
        cells = [f"{row['cpu_s']:>9} / {row['wall_s']:<8}" for row in run["results"]]
        print(f"{run['size']:>8,} {run['records_each']:>8,}  " + "  ".join(f"{cell:>20}" for cell in cells))
    for run in runs:
        print(f"bundle of {run['records_each']:,} records at {run['size']:,} cases: {run['bundle_bytes']:,} bytes")


if __name__ == "__main__":
    main()
