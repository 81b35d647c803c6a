#!/usr/bin/env python3
"""Where a cold fill's CPU time goes: a cold `cpcm list` run in this one process (the cache
removed first, no worker processes), with process-CPU timers around the functions named.
With `--upgrade`, only the tables made by the fold are removed, as an upgrade of cpcm that
changes the fold leaves the cache: the record table stays, and the cases are folded from it.

    .venv/bin/python bench/pieces.py [--upgrade] REPO IDENTITY module:function [module:Class.method ...]

    e.g. bench/pieces.py bench/out/repos/10000/casefiles bench/out/repos/10000/identity.txt \\
         cpcm.crypto.cipher:decrypt cpcm.store.codec:loads cpcm.service.tables:made_rows

Prints the whole command's CPU time and each function's own time: a timed function called
from another timed one is counted once, in the inner one. Timers cost about a microsecond a
call, so a function called hundreds of thousands of times (or recursive) reads high; compare
code with code in turns on the same machine rather than with figures taken elsewhere.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import shutil
import sys
import time
from pathlib import Path


def timed(spec: str, spent: dict[str, float], stack: list[float]) -> None:
    module_name, _, attr = spec.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        start = time.process_time()
        stack.append(0.0)
        try:
            return inner(*args, **kwargs)
        finally:
            nested = stack.pop()
            took = time.process_time() - start
            spent[spec] = spent.get(spec, 0.0) + took - nested
            if stack:
                stack[-1] += took
    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("identity", type=Path)
    parser.add_argument("functions", nargs="*", help="module:function or module:Class.method")
    parser.add_argument("--upgrade", action="store_true", help="keep the record table (run a cold `cpcm list` first)")
    args = parser.parse_args()
    os.environ.update(CPCM_REPO=str(args.repo), CPCM_IDENTITY=str(args.identity))
    cache = args.repo / ".cpcm" / "cache"
    if args.upgrade:
        for table in cache.glob("*/*"):
            if table.name != "records":
                shutil.rmtree(table, ignore_errors=True)
    else:
        shutil.rmtree(cache, ignore_errors=True)

    from cpcm.store import parallel

    parallel.workers = lambda: 1  # every case read here, where the timers are
    spent: dict[str, float] = {}
    stack: list[float] = []
    for spec in args.functions:
        timed(spec, spent, stack)

    from cpcm.launch import main as cpcm

    sys.argv = ["cpcm", "list"]
    start = time.process_time()
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        cpcm()
    total = time.process_time() - start
    print(f"{'list after an upgrade' if args.upgrade else 'cold list'}: {total:.2f} s CPU in one process; "
          f"load {os.getloadavg()[0]:.1f}")
    for spec, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {spec:55s} {seconds:7.2f} s own")
    print(f"  {'everything else':55s} {total - sum(spent.values()):7.2f} s")


if __name__ == "__main__":
    main()
