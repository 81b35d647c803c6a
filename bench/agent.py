#!/usr/bin/env python3
"""`show` and `register` in their own process, through the unlock agent, and `pass show` /
`pass insert`, interleaved run by run (one of each in turn, so a change in the machine's load
falls on all of them alike), at one size of the bench's repositories:

    .venv/bin/python bench/agent.py --size 10000 --runs 15 [--out bench/out] [--cpcm .venv/smoke/bin/cpcm]

CPU through the agent = the client's CPU (user + sys, with its children) plus what the agent's
process spent meanwhile (/proc/PID/stat: utime, stime and its waited-for children, git). `pass`
is counted with what its gpg-agent spent (the private-key half of a decryption). Medians, with
min and the peak RSS of the process started (for the agent: its own high-water mark).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peer  # noqa: E402
import run as bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", default=str(HERE / "out"))
    parser.add_argument("--cpcm", default=None, help="the cpcm command (default .venv/bin/cpcm)")
    parser.add_argument("--only", default="show,register")
    args = parser.parse_args()
    if args.cpcm:
        bench.CPCM = Path(args.cpcm).absolute()
    out = Path(args.out).resolve()
    if not peer.available():
        sys.exit(f"agent.py: {peer.MISSING}; bench/run.py measures cpcm alone")
    root, identity, meta = bench.ensure_repo(args.size, out, False)
    home, penv = peer.ensure(args.size, out, bench.synthetic_child)
    served = bench.start_agent(identity, out)
    plain_env = bench.cpcm_env(root, identity, False)
    agent_env = {**bench.cpcm_env(root, served.identity, False), **served.env}
    figures: dict[str, dict[str, list[float]]] = {}
    gpg = None

    def note(name: str, wall: float, cpu: float, peak: float) -> None:
        row = figures.setdefault(name, {"wall": [], "cpu": [], "peak": []})
        row["wall"].append(wall)
        row["cpu"].append(cpu)
        row["peak"].append(peak)

    try:
        for run in range(-1, args.runs):  # -1: a warm-up of each, not counted
            for what in args.only.split(","):
                if what == "show":
                    argv = [str(bench.CPCM), "show", meta["case"]]
                    ways = [("cpcm show", argv, plain_env, None), ("cpcm show (agent)", argv, agent_env, served)]
                    peer_argv, peer_stdin, peer_name = ["pass", "show", f"e{args.size // 2}"], None, "pass show"
                else:
                    child = str(bench.child_file(out, args.size, run + 1))
                    argv = [str(bench.CPCM), "register", "--from-file", child, "--no-input"]
                    ways = [("cpcm register", argv, plain_env, None), ("cpcm register (agent)", argv, agent_env, served)]
                    peer_argv, peer_name = ["pass", "insert", "-m", f"new{run + 1}"], "pass insert"
                    peer_stdin = json.dumps(bench.synthetic_child(random.Random(run + 1), date.today())).encode()
                for name, command, env, agent in ways:
                    before = agent.cpu() if agent else 0.0
                    wall, cpu, code, _, err = bench.run_process(command, env, False)
                    spent = (agent.cpu() - before) if agent else 0.0
                    if code != 0:
                        raise RuntimeError(f"{name} exited {code}: {err.decode('utf-8', 'replace')[-300:]}")
                    if what == "register":
                        bench.reset(root, meta["base"])
                    if run >= 0:
                        note(name, wall, cpu + spent, agent.rss_mb() if agent else bench.PEAK.get("last", 0.0))
                        if agent:
                            note(name + ": the agent's share", 0.0, spent, 0.0)
                before = gpg.cpu() if gpg else 0.0
                wall, cpu, code, _, err = bench.run_process(peer_argv, penv, False, peer_stdin)
                spent = (gpg.cpu() - before) if gpg else 0.0
                peer.reset(home, penv)
                if code != 0:
                    raise RuntimeError(f"{peer_name} exited {code}: {err.decode('utf-8', 'replace')[-300:]}")
                if run >= 0:
                    note(peer_name, wall, cpu, bench.PEAK.get("last", 0.0))
                    note(peer_name + " + gpg-agent", wall, cpu + spent, 0.0)
                gpg = gpg or bench._gpg_agent(penv)
    finally:
        served.stop()
        bench.subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=penv, capture_output=True)
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"{args.size:,} cases, {args.runs} interleaved runs, load average {load} at the end, {bench.CPCM}")
    print(f"{'':34} {'CPU median':>10} {'min':>7} {'wall median':>11} {'peak MB':>8}")
    for name, row in figures.items():
        print(f"{name:34} {statistics.median(row['cpu']) * 1000:8.1f}ms {min(row['cpu']) * 1000:5.1f}ms "
              f"{statistics.median(row['wall']) * 1000:9.1f}ms {statistics.median(row['peak']):8.0f}")


if __name__ == "__main__":
    main()
