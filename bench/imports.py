#!/usr/bin/env python3
"""`cpcm import cases` at size: a register of 1,000 or 10,000 made-up children, checked
(`--dry-run`) and imported, into the bench repository of bench/run.py.

    .venv/bin/python bench/imports.py                                # 1,000 cases, registers of 1,000 and 10,000 rows
    .venv/bin/python bench/imports.py --size 1000 --rows 1000,10000 --runs 3 [--cpcm PATH] [--only dry-run|import]

Builds (or re-uses) the bench repository of `--size` cases (bench/run.py), warms its summary
cache with one `cpcm list`, writes a CSV register of each `--rows` count under OUT/inputs
(bench/run.py `register_file`: the columns of `cpcm import template`, names of random syllables,
none repeated, a birth date or an estimated age, a caregiver for about half), then runs, each as
a fresh `cpcm` process, `import cases FILE --dry-run --json` and `import cases FILE --json` (the
repository reset to its built commit after each). Prints wall and CPU time (user + sys of cpcm
and the git it runs), the peak RSS and the probable duplicates reported (few or none with such
names), and writes OUT/import-results.json. The registers hold no real child.

`--cpcm` measures another cpcm command, as bench/run.py does. To measure an earlier commit,
extract its `cpcm/` (`git archive COMMIT cpcm | tar -x -C DIR`) and give a wrapper script that
runs `PYTHONPATH=DIR .venv/bin/python -P -m cpcm "$@"` (without `-P`, Python puts the current
folder first on its path and runs this checkout's code instead).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import run as bench_run  # noqa: E402  (bench/run.py: the repository builder, the registers and the measuring)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="cases in the repository (default 1000)")
    parser.add_argument("--rows", default="1000,10000", help="rows of the registers (default 1000,10000)")
    parser.add_argument("--runs", type=int, default=1, help="measured runs of each (default 1)")
    parser.add_argument("--only", choices=("dry-run", "import"), default=None, help="measure only the dry run, or only the import")
    parser.add_argument("--out", default=str(HERE / "out"), help="results and cached repositories (default bench/out)")
    parser.add_argument("--cpcm", default=None, help="the cpcm command to measure (default .venv/bin/cpcm)")
    args = parser.parse_args()
    if args.cpcm:
        bench_run.CPCM = Path(args.cpcm).absolute()
    out = Path(args.out).resolve()
    root, identity, meta = bench_run.ensure_repo(args.size, out, False)
    env = bench_run.cpcm_env(root, identity, False)
    warm = bench_run.run_process([str(bench_run.CPCM), "list"], env, False)
    if warm[2] != 0:
        sys.exit(f"cpcm list exited {warm[2]}: {warm[4].decode('utf-8', 'replace')[-300:]}")
    info = bench_run.machine()
    print(f"cpcm {info['cpcm']} ({info['commit']}) · {bench_run.CPCM} · {info['cores']} cores · load {info['load_average_at_start']}",
          file=sys.stderr)
    results = []
    for count in [int(r.replace("_", "")) for r in args.rows.split(",") if r.strip()]:
        path = bench_run.register_file(out, count)
        for dry in (True, False):
            if args.only and args.only != ("dry-run" if dry else "import"):
                continue
            argv = [str(bench_run.CPCM), "import", "cases", str(path), "--json"] + (["--dry-run"] if dry else [])
            walls, cpus, peaks = [], [], []
            for _ in range(args.runs):
                print(f"  {count:,} rows{' --dry-run' if dry else ''} into {args.size:,} cases ...", file=sys.stderr, flush=True)
                wall, cpu, code, stdout, stderr = bench_run.run_process(argv, env, False)
                bench_run.reset(root, meta["base"])
                if code != 0:
                    sys.exit(f"import exited {code}: {stderr.decode('utf-8', 'replace')[-500:]}")
                done = json.loads(stdout)
                if done["checked"] != count:
                    sys.exit(f"checked {done['checked']} rows of {count}")
                flagged = len(done["possible_duplicates"])
                walls.append(wall)
                cpus.append(cpu)
                peaks.append(bench_run.PEAK.get("last", 0.0))
            results.append({"rows": count, "cases": args.size, "dry_run": dry, "runs": len(walls),
                            "wall": round(statistics.median(walls), 2), "cpu": round(statistics.median(cpus), 2),
                            "walls": [round(w, 2) for w in walls], "cpus": [round(c, 2) for c in cpus],
                            "peak_mb": round(max(peaks), 1), "possible_duplicates": flagged})
            r = results[-1]
            print(f"{count:>7,} rows  {'--dry-run' if dry else 'import   '}  wall {r['wall']:>8.2f} s  CPU {r['cpu']:>8.2f} s  "
                  f"peak {r['peak_mb']:>6.0f} MB  {flagged} probable duplicates", flush=True)
    info["load_average_at_end"] = [round(x, 2) for x in bench_run.os.getloadavg()]
    (out / "import-results.json").write_text(json.dumps({"machine": info, "results": results}, indent=2))
    print(f"results: {out / 'import-results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
