#!/usr/bin/env python3
"""What `cpcm list` spends its time on: its phases timed in one fresh process.

    .venv/bin/python bench/phases.py REPO IDENTITY OUT.json OUT.txt

Run by bench/run.py at the largest size. The warm and cold paths below make the same calls,
in the same order, as `cpcm.service.load_cases` / `list_` and `cpcm list` (keep them in
step when those change); each is then checked against the real function timed whole. Also
a cProfile of the real `cpcm list` (warm) and the parts of `cpcm register` at this size.
"""
from __future__ import annotations

import cProfile
import contextlib
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

START = time.perf_counter()
HERE = Path(__file__).resolve().parent


class Timer:
    def __init__(self):
        self.phases: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] += time.perf_counter() - started


def main() -> None:
    root, identity, out_json, out_txt = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    report: dict = {"repo": str(root)}
    t = Timer()

    # -- start-up: what every command imports -----------------------------------------------
    with t("import typer + build the CLI (all command modules)"):
        from cpcm.cli.app import build

        build()
    with t("import cpcm.service (ruamel.yaml, pyrage, domain)"):
        from cpcm import service
    with t("import pydantic (typer's parameter coercion, when a command runs)"):
        try:
            import typer._adapters  # noqa: F401  (typer 0.2x imports it while parsing the arguments)
        except ImportError:
            pass
    from cpcm.service.cases import case_summary
    from cpcm.cli.common import print_table
    from cpcm.crypto import cipher
    from cpcm.domain.case import Case
    from cpcm.domain.records import Record
    from cpcm.store import codec
    from cpcm.service.context import fold_fingerprint
    from cpcm.store.cache import SummaryCache
    from cpcm.store.layout import CASES, RECORD_FILE
    from cpcm.workflow.fold import fold

    with t("open repo: config, team, identity"):
        ctx = service.open_repo(root, identity)
    startup = dict(t.phases)
    worker = ctx.worker
    cache_dir = root / ".cpcm" / "cache"

    def listing(cases: dict, timer: Timer, rich: bool) -> None:
        with timer("filter + sort (list_)"):
            selected = sorted(cases.values(), key=lambda c: (c.registered_at or "", c.id))
        today = ctx.now.date()
        with timer("case_summary rows (ages)"):
            rows = [case_summary(c, today, False, ctx.zone) for c in selected]
        columns = ["case_id", "status", "stage", "risk", "worker", "sex", "age", "registered_at"]
        table = [[r[c] if c != "registered_at" else (r[c] or "")[:10] for c in columns] for r in rows]
        with timer("print, piped (tab-separated)"), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            print_table(columns, table, title=f"{len(rows)} case(s)")
        if not rich:
            return
        with timer("[terminal only] rich table render"):
            from rich.console import Console
            from rich.table import Table

            rich_table = Table(title=f"{len(rows)} case(s)", header_style="bold")
            for column in columns:
                rich_table.add_column(column)
            for row in table:
                rich_table.add_row(*["" if v is None else str(v) for v in row])
            Console(file=io.StringIO(), force_terminal=True, width=120, color_system="truecolor").print(rich_table)

    # -- warm: the summary cache holds every case ------------------------------------------------
    service.load_cases(ctx)  # make sure the cache is complete and saved
    warm = Timer()
    with warm("git rev-parse + git ls-tree (tree ids)"):
        trees = ctx.store.git.tree_ids(CASES)
    summary = root / ".cpcm" / "cache" / worker.id / "summary"
    with warm("read cache file"):
        raws = [p.read_bytes() for p in sorted(summary.glob("*.age"))]
    with warm("age-decrypt cache"):
        plains = [cipher.decrypt(raw, ctx.keys) for raw in raws]
    with warm("json.loads cache"):
        for plain in plains:
            json.loads(plain)
    with warm("SummaryCache() again (what load_cases does: read + decrypt + json)"):
        cache = SummaryCache(root, worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
        cache.summary.load()
    with warm("scandir cases/ (case_ids)"):
        ids = ctx.store.case_ids()
    cases = {}
    with warm("cache lookups + Case.from_dict per case"):
        for case_id in ids:
            entry = cache.get(case_id, trees.get(case_id))
            if entry is not None and entry["case"] is not None:
                cases[case_id] = Case.from_dict(entry["case"])
    with warm("prune + save (nothing changed)"):
        cache.prune(set(ids))
        cache.save()
    listing(cases, warm, rich=True)
    with warm.__call__("(check) service.list_, whole, warm"):
        real_warm = service.list_(ctx)
    assert len(real_warm) == len(cases), (len(real_warm), len(cases))

    # -- cold: no cache, every record decrypted and parsed --------------------------------------------
    shutil.rmtree(cache_dir, ignore_errors=True)
    ctx.store.record_cache = None  # the records as parsed too: every record decrypted and parsed, one by one
    cold = Timer()
    with cold("git rev-parse + git ls-tree (tree ids)"):
        trees = ctx.store.git.tree_ids(CASES)
    with cold("SummaryCache() (no file)"):
        cache = SummaryCache(root, worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    with cold("scandir cases/ (case_ids)"):
        ids = ctx.store.case_ids()
    cases, records_read = {}, 0
    for case_id in ids:
        with cold("read recipients file"):
            readable = worker.id in ctx.store.recipients(case_id)
        if not readable:
            cache.put(case_id, trees.get(case_id), None)
            continue
        with cold("scandir case folder (record_files)"):
            files = ctx.store.record_files(case_id)
        records = []
        for file in files:  # CaseStore.read_file, phase by phase
            with cold("read record file"):
                ctx.store.rel(file)
                data = file.read_bytes()
            with cold("age-decrypt record"):
                text = cipher.decrypt(data, ctx.keys)
            with cold("YAML load record (ruamel safe, C)"):
                loaded = codec.loads(text)
            with cold("Record.from_dict (+ plain)"):
                record = Record.from_dict(loaded)
                RECORD_FILE.match(file.name)
            records.append(record)
            records_read += 1
        with cold("fold + to_dict + cache.put"):
            case = fold(case_id, records)
            cases[case_id] = case
            cache.put(case_id, trees.get(case_id), case.to_dict())
    with cold("prune + save cache (json.dumps + encrypt + write)"):
        cache.prune(set(ids))
        cache.save()
    listing(cases, cold, rich=False)
    shutil.rmtree(cache_dir, ignore_errors=True)
    with cold.__call__("(check) service.list_, whole, cold"):
        real_cold = service.list_(ctx)
    assert len(real_cold) == len(cases)

    # -- cProfile of the real `cpcm list`, warm --------------------------------------------------------
    from cpcm.cli import main as cli_main

    os.environ.update(CPCM_REPO=str(root), CPCM_IDENTITY=str(identity))
    profiler = cProfile.Profile()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        profiler.enable()
        try:
            cli_main(["list"])
        except SystemExit:
            pass
        profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(22)
    profile_text = stream.getvalue()

    # -- register: what it does besides writing one record, at this size -----------------------------
    # cProfile of the real service.register, read back per function (robust to the code changing)
    sys.path.insert(0, str(HERE))
    from run import synthetic_child  # noqa: E402  (the bench's own generator)

    data = synthetic_child(random.Random("phases"), ctx.now.date())
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    def undo() -> None:
        subprocess.run(["git", "reset", "-q", "--hard", base], cwd=root, check=True)
        subprocess.run(["git", "clean", "-fdq", "--", "cases"], cwd=root, check=True)

    service.load_cases(ctx)  # a warm cache, as a user has it
    started = time.perf_counter()
    service.register(ctx, data)
    register_whole = time.perf_counter() - started
    undo()
    profiler = cProfile.Profile()
    profiler.enable()
    service.register(ctx, data)
    profiler.disable()
    undo()
    stats = pstats.Stats(profiler)
    wanted = ("register", "validate_registration", "load_cases", "probable_duplicates", "_caseload_warnings", "case_ids",
              "tree_ids", "commit", "write_record", "replace_file", "__enter__", "__exit__", "run", "fsync")
    register_parts = {}
    for (filename, _line, name), (_cc, ncalls, _tt, cumtime, _callers) in stats.stats.items():
        if name in wanted and ("cpcm" in filename or name == "fsync"):
            label = f"{Path(filename).parent.name}/{Path(filename).name}:{name}"
            register_parts[label] = {"calls": ncalls, "cumulative_s": round(cumtime, 4)}
    register_parts = dict(sorted(register_parts.items(), key=lambda kv: -kv[1]["cumulative_s"]))

    def rounded(phases: dict) -> dict:
        return {k: round(v, 4) for k, v in phases.items()}

    warm_total = sum(v for k, v in warm.phases.items() if not k.startswith(("(check)", "[terminal", "SummaryCache() again")))
    cold_total = sum(v for k, v in cold.phases.items() if not k.startswith(("(check)", "[terminal")))
    report.update({
        "cases": len(ids), "records": records_read,
        "startup": rounded(startup), "warm": rounded(warm.phases), "cold": rounded(cold.phases),
        "warm_total_excluding_startup": round(warm_total, 4), "cold_total_excluding_startup": round(cold_total, 4),
        "register_whole_s": round(register_whole, 4), "register_profile": register_parts,
        "per_record_ms": {
            "age-decrypt": round(1000 * cold.phases["age-decrypt record"] / max(records_read, 1), 3),
            "YAML load": round(1000 * cold.phases["YAML load record (ruamel safe, C)"] / max(records_read, 1), 3),
        },
    })
    out_json.write_text(json.dumps(report, indent=2))

    lines = [f"Phases of `cpcm list` at {len(ids):,} cases ({records_read:,} records), one process, seconds:", ""]
    lines.append("start-up (every command):")
    lines += [f"  {v:8.3f}  {k}" for k, v in startup.items()]
    for title, phases, total in (("warm summary cache:", warm.phases, warm_total), ("cold (no summary cache):", cold.phases, cold_total)):
        lines += ["", title]
        lines += [f"  {v:8.3f}  {k}" for k, v in sorted(phases.items(), key=lambda kv: -kv[1])]
        lines.append(f"  {total:8.3f}  = total after start-up (piped; excluding the checks)")
    lines += ["", f"per record: age-decrypt {report['per_record_ms']['age-decrypt']} ms, YAML load {report['per_record_ms']['YAML load']} ms",
              "", f"register at {len(ids):,} cases, in-process after start-up: {register_whole:.3f} s; "
              "cProfile, cumulative seconds (profiler overhead included):"]
    lines += [f"  {v['cumulative_s']:8.3f}  {v['calls']:>4} call(s)  {k}" for k, v in register_parts.items()]
    lines += ["", "cProfile of the real `cpcm list` (warm, in-process, profiler overhead included):", profile_text]
    out_txt.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
