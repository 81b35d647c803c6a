#!/usr/bin/env python3
"""The cpcm performance bench: how long each command takes, as a user runs it, on casefile
repositories of 100, 1,000 and 10,000 synthetic cases.

    make bench                                   # .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --quick        # small sizes, a quick check
    .venv/bin/python bench/run.py --sizes 1000,10000 --runs 3 --out /tmp/bench

What it does:

1. Builds (once, then re-uses) a casefile repository of N registered synthetic children per
   size under OUT/repos/N/: `cpcm.service.init`, a second worker, then N registrations written
   through cpcm's own transaction (validated by the registration form, encrypted, one commit).
   No `cpcm register` N times. The names are made up from short lists; none is a real child.
2. Measures each command in COMMANDS as a fresh process (`.venv/bin/cpcm ...` with
   CPCM_REPO and CPCM_IDENTITY set, an unprotected identity): one unmeasured warm-up run,
   then --runs runs; the median, min and max wall time and the median CPU time (user + sys,
   git included) of the runs.
3. Times the phases of `cpcm list` in-process at the largest size (bench/phases.py) to show
   what dominates.
4. Prints a table and writes OUT/results.json (and OUT/list-profile-N.txt).

`show` and `register` are also run through a `cpcm unlock` agent (rows "(agent)"; --agent: every
command the agent runs, --no-agent: none), their CPU counted with the agent's share.
bench/agent.py interleaves them run by run with `pass`.

To add a command to the bench, add one line to COMMANDS.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import pty
import random
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

BIN = Path(sys.executable).parent
CPCM = BIN / "cpcm" if (BIN / "cpcm").exists() else PROJECT / ".venv" / "bin" / "cpcm"
BENCH_FORMAT = 4  # bump to rebuild every cached repository (e.g. when the synthetic data changes)
TIMEOUT = 900


@dataclass(frozen=True)
class Command:
    """One command of the bench.

    argv follows `cpcm`; {name} in it is filled from placeholders() below for each run.
    """

    name: str
    argv: tuple[str, ...]
    target: float | None = None       # seconds (the target)
    target_upto: int | None = None    # the target holds for repositories up to this many cases (None: any)
    cache: str = "warm"               # "warm": the summary cache as the warm-up run left it; "cold": deleted before each run;
    #                                   "upgrade": every table but the record table deleted (an upgrade that changed the fold);
    #                                   "rules": the due and statistics tables and the views deleted (an upgrade that changed
    #                                   the rules or the tables' code, not the fold)
    mutates: bool = False             # reset the repository to its built commit after each run
    tty: bool = False                 # stdout is a terminal (the rich table) instead of a pipe
    rows: bool = False                # stdout is one line per case (plus a header): check the count
    before: tuple[str, ...] = ()      # a command run (not measured) before each run, e.g. a write; argv as above


NOTE = ("note", "{case}", "--text", "Visited at home; all well (synthetic).")
COMMANDS = [
    Command("--version", ("--version",), target=0.2),
    Command("show", ("show", "{case}"), target=0.3, target_upto=10_000),
    Command("list", ("list",), target=1.0, target_upto=1_000, rows=True),
    Command("list (terminal)", ("list",), target=1.0, target_upto=1_000, tty=True),
    Command("list (cold cache)", ("list",), target=1.0, target_upto=1_000, cache="cold", rows=True),
    Command("list (after an upgrade)", ("list",), cache="upgrade", rows=True),
    Command("due --worker all (after an upgrade of the rules)", ("due", "--worker", "all"), cache="rules"),
    Command("register", ("register", "--from-file", "{child}", "--no-input"), target=0.3, target_upto=10_000, mutates=True),
    # what a worker runs right after writing: the views brought up to date with the case written (issue 17: under 1 s)
    Command("list (after a note)", ("list",), target=1.0, rows=True, mutates=True, before=NOTE),
    Command("due --worker all (after a note)", ("due", "--worker", "all"), target=1.0, mutates=True, before=NOTE),
    Command("report statistics (after a note)", ("report", "statistics"), target=1.0, mutates=True, before=NOTE),
    Command("due --worker all", ("due", "--worker", "all"), target=1.5, target_upto=1_000),
    # what a script reads (a county office's morning run): written a piece at a time, peak memory as `due`'s
    Command("due --json", ("due", "--json"), target=1.0),
    Command("list --json", ("list", "--json")),
    Command("review --batch", ("review", "--batch", "{batch}"), target=3, target_upto=1_000, mutates=True),
    Command("report statistics", ("report", "statistics"), target=10, target_upto=10_000),
    # reads the records of every case with an assessment (the summaries hold no readiness score): docs/performance.md
    Command("report readiness", ("report", "readiness")),
    # a register of 1,000 children brought in (checked only, then imported); bench/imports.py: 10,000 rows
    Command("import --dry-run (1000 rows)", ("import", "cases", "{register}", "--dry-run")),
    Command("import (1000 rows)", ("import", "cases", "{register}"), mutates=True),
    # every check of verify: git fsck, the history walk, every record version's age header, and
    # every record decrypted and validated (the bench identity reads every case); exit 0 = clean
    Command("verify", ("verify",), target=60, target_upto=10_000),
]


def placeholders(size: int, run: int, meta: dict, out: Path, root: Path) -> dict:
    """What {name} in a command's argv stands for, in run `run` (0 is the warm-up)."""
    return {
        "case": meta["case"],                               # an existing case ID (the middle one)
        "child": str(child_file(out, size, run)),           # a new synthetic registration, one per run
        "repo": str(root),
        "batch": str(batch_file(out, size, meta)),          # one review per planned case, in one file
        "register": str(register_file(out, 1_000)),         # a register of 1,000 made-up children (bench/imports.py: more)
    }


PLANNED = 1_000  # cases per repository that also get assessments and an approved plan (reviewable)


def batch_file(out: Path, size: int, meta: dict) -> Path:
    path = out / "inputs" / f"reviews-{size}.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"case": case_id, "chair": "grace", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
                 "decisions": ["continue the plan"], "outcome": "continue"} for case_id in meta.get("planned", [])]
        path.write_text(json.dumps(rows))
    return path


# -- synthetic children ---------------------------------------------------------------------
FIRST_F = ["Achieng", "Wanjiru", "Amani", "Neema", "Zawadi", "Halima", "Nyambura", "Akinyi", "Imani", "Rehema",
           "Chebet", "Mwende", "Atieno", "Wambui", "Fatuma", "Njeri", "Adhiambo", "Makena", "Nafula", "Saida"]
FIRST_M = ["Baraka", "Otieno", "Juma", "Kipchoge", "Mwangi", "Omondi", "Hamisi", "Kamau", "Wekesa", "Tumaini",
           "Kiprono", "Mutua", "Ochieng", "Kibet", "Musa", "Njuguna", "Wafula", "Rashid", "Kimani", "Oduor"]
LAST = ["Odhiambo", "Njoroge", "Mutiso", "Wafula", "Chepkoech", "Barasa", "Muthoni", "Onyango", "Kariuki",
        "Achieng", "Ndungu", "Ali", "Owino", "Kiplagat", "Nyaga", "Omollo", "Wanyama", "Macharia", "Otieno", "Said"]
PLACES = ["Nyalenda, Kisumu Central", "Manyatta, Kisumu East", "Obunga, Kisumu Central", "Kondele, Kisumu Central",
          "Mamboleo, Kisumu East", "Ahero, Nyando", "Maseno, Kisumu West", "Kibos, Kisumu East"]
LIVES = ["both_parents", "mother", "relatives", "relatives", "foster_family", "institution", "alone", "street", "mother"]
SOURCES = ["self", "family", "community_member", "volunteer", "authority", "service_provider"]
CONCERNS = ["neglect", "physical_abuse", "out_of_school", "child_labour", "street_connected", "abandonment",
            "psychosocial_distress", "sexual_abuse", "child_marriage", "health_or_disability"]
RISKS = ["immediate", "high", "high", "medium", "medium", "medium", "low", "low"]
NEEDS = ["food", "shelter", "medical care", "school fees", "clothing"]


def synthetic_child(rng: random.Random, today: date) -> dict:
    """A registration form's answers for a made-up child (as `cpcm register --from-file` reads)."""
    female = rng.random() < 0.5
    age = rng.randint(1, 17)
    child = {"name": f"{rng.choice(FIRST_F if female else FIRST_M)} {rng.choice(LAST)}",
             "sex": "female" if female else "male", "disability": rng.choice(["no", "no", "no", "yes", "unknown"])}
    if rng.random() < 0.7:
        child["date_of_birth"] = date(today.year - age - 1, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    else:
        child["age_estimate"] = age
    lives = rng.choice(LIVES)
    data = {
        "child": child,
        "location": rng.choice(PLACES),
        "lives_with": lives,
        "identified_by": rng.choice(SOURCES),
        "concerns": rng.sample(CONCERNS, rng.randint(1, 3)),
        "risk": rng.choice(RISKS),
        "immediate_needs": rng.sample(NEEDS, rng.randint(0, 2)),
        "consent": {"child": "given", "caregiver": "given" if lives not in ("alone", "street") else "not_possible",
                    "explained": True},
    }
    if lives not in ("alone", "street"):
        data["caregiver"] = {"name": f"{rng.choice(FIRST_F + FIRST_M)} {rng.choice(LAST)}",
                             "relationship": "grandmother" if lives == "relatives" else "parent"}
    if rng.random() < 0.3:
        data["notes"] = "Synthetic bench case. " * rng.randint(1, 12)
    return data


REGISTER_COLUMNS = ["Name", "Sex", "DOB", "Age", "Date of admission", "Reason for admission", "Home area", "Lives with",
                    "Caregiver", "Relationship", "Identified by", "Risk", "Child consent", "Caregiver consent"]
ONSETS = ["b", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "n", "ny", "ng", "p", "r", "s", "sh", "t", "w", "y", "z", "kh", "mb",
          "nd"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ei"]


def made_up_name(rng: random.Random) -> str:
    """Two or three words of two to four random syllables: varied, unlike the short lists above."""
    return " ".join("".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4))).capitalize()
                    for _ in range(rng.choice((2, 3, 3))))


def register_rows(count: int, seed: int = 2026, today: date | None = None) -> list[list[str]]:
    """`count` rows of a register (the columns of `cpcm import template`) of made-up children,
    no name repeated: a birth date or an estimated age, a caregiver for about half."""
    rng = random.Random(f"import-{seed}-{count}")
    today = today or date.today()
    rows, seen = [], set()
    while len(rows) < count:
        name = made_up_name(rng)
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        age = rng.randint(1, 17)
        born = date(today.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
        dob, estimated = (born.isoformat(), "") if rng.random() < 0.7 else ("", str(age))
        cared = rng.random() < 0.5
        # admitted after birth (import refuses a birth date after the admission): up to about five years ago
        admitted = today - timedelta(days=rng.randint(30, min(2000, (today - born).days - 1)))
        rows.append([name, rng.choice("FM"), dob, estimated, admitted.isoformat(), rng.choice(("neglect", "abandonment")),
                     f"Ward {rng.randint(1, 30)}", "relatives" if cared else "institution", made_up_name(rng) if cared else "",
                     "aunt" if cared else "", "authority", rng.choice(("low", "medium", "high")), "given",
                     "given" if cared else "not_possible"])
    return rows


def register_file(out: Path, count: int) -> Path:
    """A CSV register of `count` rows under OUT/inputs (made once, then re-used)."""
    import csv

    path = out / "inputs" / f"register-{count}-v2.csv"  # v2: no child admitted before birth (a v1 file is left)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(REGISTER_COLUMNS)
            writer.writerows(register_rows(count))
    return path


# -- building repositories ------------------------------------------------------------------
@contextlib.contextmanager
def no_fsync():
    """Bench fixtures need no durability: skip fsync while building (about 0.6 ms a file here)."""
    saved = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = saved


def wait_for_gc(root: Path, limit: float = 3600) -> None:
    """Wait while a `git gc` runs in `root` (git's own gc.pid lock), for at most `limit` seconds."""
    lock = root / ".git" / "gc.pid"
    waited = 0.0
    while lock.exists() and waited < limit:
        time.sleep(1)
        waited += 1


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {root}: {done.stderr.strip()}")
    return done.stdout.strip()


FOLLOWUP = {"method": "home_visit", "purpose": "monitoring", "risk_increased": "no", "concern": "no"}
OBSERVED = ("the child was at school", "the child was at home with the grandmother", "the family had food for the week",
            "the child attended the clinic as planned", "the bursary was paid for the term")

PLAN_RECORDS = (
    ("assessment", {"type": "initial", "safe": "yes", "basic_needs": {"food": "yes", "shelter": "yes", "medical": "yes"},
                    "interim_plan_needed": False, "outcome": "proceed"}),
    ("assessment", {"type": "comprehensive", "dimensions": {"physical": {"strengths": "healthy"}}, "child_views": "wants school",
                    "outcome_explained_to_child": "yes", "consulted": ["child"], "needs": ["school fees"]}),
    ("plan", {"reason": "initial", "goals": [{"id": "G1", "term": "short", "goal": "in school", "need": "school fees"}],
              "actions": [{"what": "apply for a bursary", "who": "service", "by": "2027-01-31", "mode": "referral", "goal": "G1"}],
              "closure_criteria": ["in school for a term"], "contingency": "the aunt takes the child in",
              "participants": {"child": "yes", "caregivers": "yes"}}),
    ("approval", {"subject": "plan"}),
)


def _write_cases(root: Path, identity_path: Path, case_ids: list[str], seed: int, part: int, planned_from: int,
                 now_iso: str, followups: int = 0) -> tuple[list[str], list[str], list[str]]:
    """Write the cases `case_ids` (drawn by the parent, so no two workers draw the same id;
    files only, no commit): (the files written, the case ids, the planned case ids). The first
    `planned_from` of them also get assessments and an approved plan; with `followups`, every case
    does, and that many follow-ups after it, a month apart. Run in a worker process."""
    from cpcm import clock, service
    from cpcm.store import atomic, codec
    from cpcm.crypto import cipher
    from cpcm.store.layout import RECIPIENTS, case_rel, record_name
    from cpcm.workflow.fold import fold

    now = clock.parse_datetime(now_iso, "now")
    ctx = service.open_repo(root, identity_path)
    rng = random.Random(f"{seed}-{part}")
    written, ids, planned = [], [], []
    with no_fsync():
        for n, case_id in enumerate(case_ids):
            data = synthetic_child(rng, now.date())
            data["worker"] = rng.choice(("amina", "otieno"))
            body = service.validate_registration(ctx, data)
            at = now - timedelta(minutes=rng.randint(60, 2 * 365 * 24 * 60))
            record = service.new_record(ctx, "registration", case_id, body, at)
            readers = service.readers_for(ctx, fold(case_id, [record]))
            keys = service.keys_for(ctx, readers)
            rel = f"{case_rel(case_id)}/{RECIPIENTS}"
            atomic.write(root / rel, service.recipients_bytes(readers))
            written.append(rel)
            records = [record]
            if followups or (n < planned_from and len(planned) < PLANNED):  # assessed and planned, the plan approved
                after = record.id
                for kind, extra_data in PLAN_RECORDS:
                    extra = service.new_record(ctx, kind, case_id, extra_data, at + timedelta(days=1), after=after)
                    records.append(extra)
                    after = extra.id
                for month in range(1, followups + 1):  # a case file after months of work
                    when = at + timedelta(days=1 + 30 * month)
                    if when >= now:
                        break
                    extra = service.new_record(ctx, "followup", case_id, dict(FOLLOWUP, observations=rng.choice(OBSERVED)),
                                               when, after=after)
                    records.append(extra)
                    after = extra.id
                planned.append(case_id)
            for one in records:  # what Transaction.write_record writes
                rel = f"{case_rel(case_id)}/{record_name(one.id, one.kind)}"
                atomic.write(root / rel, cipher.encrypt(codec.dumps(one.to_dict()), keys), exclusive=True)
                written.append(rel)
            ids.append(case_id)
    return written, ids, planned


def build_repo(size: int, dest: Path, seed: int = 2026, jobs: int | None = None, followups: int = 0) -> dict:
    """A casefile repository of `size` registered synthetic cases at dest/casefiles, with the
    identity of worker 'amina' (caseworker and supervisor; reads every case) at dest/identity.txt.
    Half the cases are assigned to a second worker, 'otieno', so records have two recipients.
    `PLANNED` of them are assessed and planned; with `followups`, every case is, and has up to that
    many monthly follow-ups after (those before now): case files as they are after months of work.
    The files are written by `jobs` processes (default: one per core) inside one transaction,
    which then makes one commit of them all."""
    from concurrent.futures import ProcessPoolExecutor

    from cpcm import __version__, clock, service
    from cpcm.crypto import identity as identity_mod, signing
    from cpcm.domain.ids import new_case_id

    started = time.perf_counter()
    tmp = dest.with_name(dest.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    now = clock.now()
    identity_path = tmp / "identity.txt"
    text, recipient = identity_mod.generate(clock.iso(now), "BENCH KEY - synthetic data only")
    identity_mod.save(identity_path, text, None)
    root = tmp / "casefiles"
    jobs = jobs or min(os.cpu_count() or 1, 8)
    with no_fsync():  # signing keys recorded as `cpcm init` and `cpcm team add` record them: a sync checks them
        service.init(root, "BENCH", "Bench agency (synthetic data)", "amina", "Amina (bench)",
                     ["caseworker", "supervisor"], recipient, now,
                     signer=signing.for_identity(identity_mod.parse(text, str(identity_path))))
        ctx = service.open_repo(root, identity_path)
        other_text, other = identity_mod.generate(clock.iso(now))
        service.team_add(ctx, "otieno", ["caseworker"], other, "Otieno (bench)",
                         signing_key=signing.for_identity(identity_mod.parse(other_text, "otieno")).line())
        ctx = service.open_repo(root, identity_path)
        seen: set[str] = set()
        planned: list[str] = []
        with service.transaction(ctx, "register") as tx:  # what service.register writes, N times, one commit
            drawn: set[str] = set()
            while len(drawn) < size:  # unique ids, drawn here: two workers must never write one case
                drawn.add(new_case_id())
            ordered = sorted(drawn)
            random.Random(seed + size).shuffle(ordered)
            planned_each = -(-min(PLANNED, size) // jobs)
            with ProcessPoolExecutor(jobs) as pool:
                parts = [pool.submit(_write_cases, root, identity_path, ordered[part::jobs], seed + size, part, planned_each,
                                     clock.iso(now), followups) for part in range(jobs)]
                for future in parts:
                    written, ids, part_planned = future.result()
                    tx.written.extend(written)
                    seen.update(ids)
                    planned.extend(part_planned)
            tx.commit(f"register {size} synthetic cases")
    wait_for_gc(root)  # the commit may have started `git gc --auto` in the background: a second gc would fail
    git(root, "gc", "-q")  # packed, as a repository in use is (gc --auto): 100,000 loose objects slow every write
    ids = sorted(seen)
    meta = {
        "size": size, "bench_format": BENCH_FORMAT, "cpcm": __version__, "base": git(root, "rev-parse", "HEAD"),
        "case": ids[len(ids) // 2] if ids else None, "planned": planned, "built": datetime.now().isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1), "jobs": jobs, "followups": followups,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return meta


def ensure_repo(size: int, out: Path, rebuild: bool) -> tuple[Path, Path, dict]:
    from cpcm import __version__

    dest = out / "repos" / str(size)
    meta_path = dest / "meta.json"
    meta = None
    if not rebuild and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bench_format") != BENCH_FORMAT or meta.get("cpcm") != __version__ or meta.get("size") != size:
            meta = None
    if meta is None:
        print(f"building a repository of {size:,} synthetic cases in {dest} ...", file=sys.stderr, flush=True)
        meta = build_repo(size, dest)
        print(f"  built in {meta['build_seconds']} s", file=sys.stderr, flush=True)
    root = dest / "casefiles"
    reset(root, meta["base"])
    return root, dest / "identity.txt", meta


def reset(root: Path, base: str) -> None:
    """Back to the built commit (a register run adds a case). Only ever in the bench's own repository."""
    if Path(git(root, "rev-parse", "--show-toplevel")).resolve() != root.resolve():
        raise RuntimeError(f"{root} is not the top of its own git repository; not resetting it")
    if git(root, "rev-parse", "HEAD") != base or git(root, "status", "--porcelain", "--", "cases"):
        git(root, "reset", "-q", "--hard", base)
        git(root, "clean", "-fdq", "--", "cases")


# -- measuring ------------------------------------------------------------------------------
def cpcm_env(root: Path, identity: Path, tty: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CPCM_PASSPHRASE_FILE", "CPCM_NOW", "CPCM_DEBUG")}
    env.update(CPCM_REPO=str(root), CPCM_IDENTITY=str(identity))
    if tty:
        env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        env.pop("NO_COLOR", None)
    return env


PEAK: dict[str, float] = {}  # the peak RSS (MB) of the last run_process: the process or a child it waited for
# A process forked from the bench starts with the bench's own peak (Linux keeps the high-water mark
# across exec), so wait4 never gives less than the bench's size (580 MB once it had built 100,000
# cases). GNU time, itself forked from the bench, forks the command afresh and reports the
# command's own peak (`-f %M`, in KB, to a file: the command's stderr is left as it is).
def _gnu_time() -> str | None:
    """/usr/bin/time when it is GNU time with the options used here (`-q -o FILE -f %M`)."""
    try:
        done = subprocess.run(["/usr/bin/time", "-q", "-o", os.devnull, "-f", "%M", "true"], capture_output=True)
    except OSError:
        return None
    return "/usr/bin/time" if done.returncode == 0 else None


TIME = _gnu_time()


def _wait(proc: subprocess.Popen, peak_file: str | None = None) -> int:
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    PEAK["last"] = usage.ru_maxrss / 1024  # at least the bench's own peak: see TIME
    if peak_file is not None:
        try:
            with open(peak_file) as found:
                PEAK["last"] = int(found.read().split()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
    return proc.returncode


def run_process(argv: list[str], env: dict, tty: bool, stdin: bytes | None = None) -> tuple[float, float, int, bytes, bytes]:
    """(wall seconds, CPU seconds of the process and its children, exit code, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        if TIME is not None:  # its own CPU (about a millisecond) is counted with the command's
            argv = [TIME, "-q", "-o", peak.name, "-f", "%M", *argv]
        peak_file = peak.name if TIME is not None else None
        if tty:
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=err)
            os.close(slave)
            chunks = []
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            code = _wait(proc, peak_file)
            wall = time.perf_counter() - started
            os.close(master)
            out = b"".join(chunks)
        else:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err)
            if stdin is not None:
                proc.stdin.write(stdin)
                proc.stdin.close()
            out = proc.stdout.read()
            code = _wait(proc, peak_file)
            wall = time.perf_counter() - started
        err.seek(0)
        errors = err.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code, out, errors


def child_file(out: Path, size: int, run: int) -> Path:
    path = out / "inputs" / f"child-{size}-{run}.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = random.Random(f"child-{size}-{run}")
        path.write_text(json.dumps(synthetic_child(rng, date.today()), indent=2))  # JSON is YAML
    return path


def measure(command: Command, size: int, runs: int, root: Path, identity: Path, meta: dict, out: Path,
            agent: "Agent | None" = None) -> dict:
    """`command` run `runs` times (after a warm-up). With `agent`, through the unlock agent: the
    CPU time of a run is the client's (and its children's) plus what the agent spent on it."""
    env = cpcm_env(root, agent.identity if agent else identity, command.tty)
    if agent:
        env.update(agent.env)
    cache = root / ".cpcm" / "cache"
    walls, cpus, peaks, notes = [], [], [], []
    agent_cpus: list[float] = []
    for run in range(-1, runs):  # run -1 is the unmeasured warm-up
        values = placeholders(size, run + 1, meta, out, root)
        try:
            argv = [str(CPCM), *(a.format(**values) for a in command.argv)]
        except KeyError as exc:
            raise RuntimeError(f"{command.name}: no placeholder {exc} (add it to placeholders())") from None
        if command.cache == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        elif command.cache == "upgrade":
            for table in cache.glob("*/*"):
                if table.name != "records":
                    shutil.rmtree(table, ignore_errors=True)
        elif command.cache == "rules":
            for table in cache.glob("*/*"):
                if table.name in ("due", "statistics", "views"):
                    shutil.rmtree(table, ignore_errors=True)
        if command.before:
            first = run_process([str(CPCM), *(a.format(**values) for a in command.before)], env, False)
            if first[2] != 0:
                raise RuntimeError(f"{command.name}: {' '.join(command.before)} exited {first[2]}")
        before = agent.cpu() if agent else 0.0
        wall, cpu, code, stdout, stderr = run_process(argv, env, command.tty)
        served = (agent.cpu() - before) if agent else 0.0
        if agent and served <= 0 and run >= 0:
            notes.append("the agent did not run it")
        cpu += served
        if command.mutates:
            reset(root, meta["base"])
        if code != 0:
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{command.name} at {size} exited {code}: {' / '.join(tail)}")
        if command.rows and run == 0:
            lines = stdout.decode("utf-8", "replace").count("\n")
            if lines != size + 1:
                notes.append(f"printed {lines - 1} rows for {size} cases")
        if run >= 0:
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(PEAK.get("last", 0.0))
            agent_cpus.append(served)
    applies = command.target is not None and (command.target_upto is None or size <= command.target_upto)
    median = statistics.median(walls)
    extra = {"agent": True, "agent_cpu_median": round(statistics.median(agent_cpus), 4), "agent_rss_mb": agent.rss_mb()} if agent else {}
    return {
        "command": command.name + (" (agent)" if agent else ""), "argv": list(command.argv), "size": size, "runs": len(walls), **extra,
        "median": round(median, 4), "min": round(min(walls), 4), "max": round(max(walls), 4),
        "cpu_median": round(statistics.median(cpus), 4), "walls": [round(w, 4) for w in walls],
        "cpus": [round(c, 4) for c in cpus], "peak_mb": round(statistics.median(peaks), 1),
        "target": command.target if applies else None,
        "met": (median < command.target) if applies else None, "notes": notes,
    }


# -- through the unlock agent -----------------------------------------------------------------
AGENT_COMMANDS = {"show", "list", "due", "report", "register", "log", "check"}  # as cpcm/launch.py
AGENT_PASSPHRASE = "bench passphrase, synthetic data only"


@dataclass
class Agent:
    """A `cpcm unlock` agent for a passphrase-protected copy of the bench identity."""
    identity: Path          # the protected copy: commands name it, so the client finds its agent
    env: dict               # XDG_RUNTIME_DIR: where its socket is
    pid: int

    def cpu(self) -> float:
        """CPU seconds of the agent (its threads' run time, in nanoseconds, from schedstat; the
        100 Hz ticks of /proc/PID/stat are too coarse for a `show`) and of the processes it
        waited for (git; in ticks)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        children = (int(fields[13]) + int(fields[14])) / tick  # cutime, cstime
        try:
            own = sum(int((task / "schedstat").read_text().split()[0]) for task in Path(f"/proc/{self.pid}/task").iterdir()) / 1e9
        except (OSError, ValueError, IndexError):
            own = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return own + children

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def stop(self) -> None:
        subprocess.run([str(CPCM), "lock"], env={**os.environ, **self.env, "CPCM_IDENTITY": str(self.identity)},
                       capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.env["XDG_RUNTIME_DIR"], ignore_errors=True)


def start_agent(identity: Path, out: Path) -> Agent:
    """`cpcm unlock` of a protected copy of `identity` (the same key), its agent's process id
    from the socket's peer credentials."""
    from cpcm.crypto import agent, identity as identities

    folder = out / "agent"
    folder.mkdir(parents=True, exist_ok=True)
    protected = folder / f"identity-{identity.parent.name}.txt"
    protected.unlink(missing_ok=True)
    identities.save(protected, identities.secret_text(identities.load(identity, lambda: None)), AGENT_PASSPHRASE)
    secret = folder / "passphrase.txt"
    secret.write_text(AGENT_PASSPHRASE + "\n")
    secret.chmod(0o600)
    runtime = tempfile.mkdtemp(prefix="cpcm-bench-rt-")  # short: a socket's path is at most 107 bytes
    env = {"XDG_RUNTIME_DIR": runtime}
    done = subprocess.run([str(CPCM), "unlock", "--for", "4h"], capture_output=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, **env, "CPCM_IDENTITY": str(protected), "CPCM_PASSPHRASE_FILE": str(secret)})
    if done.returncode != 0:
        raise RuntimeError(f"cpcm unlock failed: {done.stderr.decode('utf-8', 'replace')[-300:]}")
    saved = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = runtime
    try:
        path = agent.socket_path(protected)
    finally:
        if saved is None:
            os.environ.pop("XDG_RUNTIME_DIR")
        else:
            os.environ["XDG_RUNTIME_DIR"] = saved
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(path))
        pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        conn.sendall(b"STATUS\n")
        conn.recv(64)
    return Agent(protected, env, pid)


# -- the peer: pass -------------------------------------------------------------------------
PEERS = {"show": ("pass show", lambda n, run: (["pass", "show", f"e{n // 2}"], None)),
         "register": ("pass insert", lambda n, run: (["pass", "insert", "-m", f"new{run}"],
                                                     json.dumps(synthetic_child(random.Random(run), date.today())).encode()))}


def measure_peer(command: str, size: int, runs: int, out: Path) -> dict | None:
    """The peer's figure for a cpcm command, measured like cpcm's (a warm-up, then `runs`)."""
    import peer

    if command not in PEERS or not peer.available():
        return None
    home, env = peer.ensure(size, out, synthetic_child)
    name, make = PEERS[command]
    walls, cpus, peaks, with_agent = [], [], [], []
    gpg_agent = None
    for run in range(-1, runs):
        argv, stdin = make(size, run + 1)
        before = gpg_agent.cpu() if gpg_agent else 0.0
        wall, cpu, code, _, stderr = run_process(argv, env, False, stdin)
        agent_cpu = (gpg_agent.cpu() - before) if gpg_agent else 0.0
        peer.reset(home, env)
        if code != 0:
            raise RuntimeError(f"{name} exited {code}: {stderr.decode('utf-8', 'replace')[-300:]}")
        if run >= 0:
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(PEAK.get("last", 0.0))
            with_agent.append(cpu + agent_cpu)
        if gpg_agent is None:
            gpg_agent = _gpg_agent(env)  # started by the warm-up run
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)  # the store's own agent
    return {"command": name, "size": size, "median": round(statistics.median(walls), 4),
            "cpu_median": round(statistics.median(cpus), 4), "peak_mb": round(statistics.median(peaks), 1),
            "cpu_with_agent_median": round(statistics.median(with_agent), 4) if gpg_agent else None}


def _gpg_agent(env: dict) -> "Agent | None":
    """The store's gpg-agent (it does the private-key half of each decryption), to count its CPU
    time as the unlock agent's is counted: the process whose command line names the store's
    GNUPGHOME."""
    home = env.get("GNUPGHOME", "")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"gpg-agent") and any(home.encode() in w for w in words):
            return Agent(Path(), {}, int(entry.name))
    return None


def print_side_by_side(results: list[dict]) -> None:
    rows = [r for r in results if r.get("peer")]
    if not rows:
        return
    print("\nside by side with pass (medians; CPU = user + sys incl. children; peak = max RSS; through the agent, CPU adds"
          "\nthe agent's share and wall is the client's; pass+agent adds what its gpg-agent spent)")
    header = (f"{'cases':>7}  {'cpcm':<20} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}   {'peer':<12} {'wall s':>7} {'CPU s':>7} "
              f"{'+agent':>7} {'peak MB':>8}  {'CPU ratio':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        p = r["peer"]
        ratio = r["cpu_median"] / p["cpu_median"] if p["cpu_median"] else float("nan")
        with_agent = p.get("cpu_with_agent_median")
        print(f"{r['size']:>7,}  {r['command']:<20} {r['median']:>7.3f} {r['cpu_median']:>7.3f} {r.get('peak_mb', 0):>8.0f}   "
              f"{p['command']:<12} {p['median']:>7.3f} {p['cpu_median']:>7.3f} "
              f"{'' if with_agent is None else f'{with_agent:.3f}':>7} {p['peak_mb']:>8.0f}  {ratio:>8.1f}x")


# -- reporting ------------------------------------------------------------------------------
def machine() -> dict:
    from cpcm import __version__

    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
        "platform": platform.platform(), "git": git(PROJECT, "--version"), "cpcm": __version__,
        "commit": _commit(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _commit() -> str:
    """The checkout measured: its commit, and '+changes' when cpcm/ has uncommitted changes."""
    try:
        head = git(PROJECT, "rev-parse", "--short", "HEAD")
        return head + ("+changes" if git(PROJECT, "status", "--porcelain", "--", "cpcm", "pyproject.toml") else "")
    except RuntimeError:
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_table(results: list[dict]) -> None:
    width = max([26, *(len(r["command"]) for r in results)])
    header = f"{'cases':>7}  {'command':<{width}} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7}  {'target':<8}"
    print(header)
    print("-" * len(header))
    for r in results:
        if "error" in r:
            print(f"{r['size']:>7,}  {r['command']:<{width}} FAILED: {r['error'][:80]}")
            continue
        target = "" if r["target"] is None else f"<{r['target']:g} " + ("ok" if r["met"] else "MISSED")
        note = f"  ({'; '.join(r['notes'])})" if r["notes"] else ""
        print(f"{r['size']:>7,}  {r['command']:<{width}} {r['median']:>9.3f} {r['min']:>7.3f} {r['max']:>7.3f} "
              f"{r['cpu_median']:>7.3f}  {target:<8}{note}")


def profile_list(root: Path, identity: Path, size: int, out: Path) -> dict:
    """Phases of `cpcm list` timed in a fresh process (bench/phases.py)."""
    report = out / f"list-profile-{size}.txt"
    data = out / f"list-profile-{size}.json"
    done = subprocess.run([sys.executable, str(HERE / "phases.py"), str(root), str(identity), str(data), str(report)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"bench/phases.py failed: {done.stderr.strip()[-2000:]}")
    return json.loads(data.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000", help="repository sizes in cases (default 100,1000,10000)")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each command (default 5)")
    parser.add_argument("--runs-large", type=int, default=None, help="measured runs at sizes of 10,000 and more (default: --runs)")
    parser.add_argument("--out", default=str(HERE / "out"), help="results and cached repositories (default bench/out)")
    parser.add_argument("--quick", action="store_true", help="small sizes (50,200) and 3 runs: a check that the bench works")
    parser.add_argument("--only", default="", help="comma-separated command names to measure (default: all)")
    parser.add_argument("--no-profile", action="store_true", help="skip the phase timing of `cpcm list`")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached repositories")
    parser.add_argument("--scale", type=int, default=None, help="one large size, e.g. 100000 (built once under OUT, re-used)")
    parser.add_argument("--no-peer", action="store_true", help="do not measure pass next to show and register")
    parser.add_argument("--cpcm", default=None,
                        help="the cpcm command to measure (default .venv/bin/cpcm, an editable install; a plain "
                             "`pip install .` starts faster, e.g. .venv/smoke/bin/cpcm made by `make smoke`)")
    parser.add_argument("--agent", action="store_true",
                        help="run every command the unlock agent runs through it too (`cpcm unlock` of a protected copy of "
                             "the key); by default only show and register, the commands measured next to pass")
    parser.add_argument("--no-agent", action="store_true", help="run no command through the unlock agent")
    args = parser.parse_args()
    global CPCM
    if args.cpcm:
        CPCM = Path(args.cpcm).absolute()
    sizes = [50, 200] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.scale:
        sizes = [args.scale]
    runs = 3 if args.quick else args.runs
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    commands = [c for c in COMMANDS if not wanted or c.name in wanted]
    if not CPCM.exists():
        sys.exit(f"no cpcm executable at {CPCM}: run `make install` first")

    info = machine()
    print(f"cpcm {info['cpcm']} ({info['commit']}) · Python {info['python']} · {info['cores']} cores ({info['cpu']}) · "
          f"{info['git']} · load {info['load_average_at_start']}", file=sys.stderr)
    if not args.no_peer and any(c.argv[0] in PEERS for c in commands):
        import peer

        if not peer.available():
            print(f"  {peer.MISSING}", file=sys.stderr)
    results, profile = [], None
    for size in sizes:
        root, identity, meta = ensure_repo(size, out, args.rebuild)
        n = args.runs_large if (args.runs_large and size >= 10_000) else runs
        through = set() if args.no_agent else AGENT_COMMANDS if args.agent else set(PEERS)
        served = start_agent(identity, out) if any(c.argv[0] in through for c in commands) else None
        try:
            for command in commands:
                print(f"  {size:>7,} cases: {command.name} x{n} ...", file=sys.stderr, flush=True)
                ways = [None] + ([served] if served and command.argv[0] in through else [])
                peer_figure = None
                for way in ways:
                    try:
                        results.append(measure(command, size, n, root, identity, meta, out, agent=way))
                        if not args.no_peer:
                            if peer_figure is None:
                                peer_figure = measure_peer(command.argv[0], size, n, out)
                            results[-1]["peer"] = peer_figure
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:  # one broken command does not stop the bench
                        print(f"    FAILED: {exc}", file=sys.stderr, flush=True)
                        reset(root, meta["base"])
                        results.append({"command": command.name, "argv": list(command.argv), "size": size, "error": str(exc)})
        finally:
            if served:
                served.stop()
        reset(root, meta["base"])
    if not args.no_profile and sizes:
        size = max(sizes)
        root, identity, meta = ensure_repo(size, out, False)
        print(f"  timing the phases of `cpcm list` at {size:,} cases ...", file=sys.stderr, flush=True)
        profile = profile_list(root, identity, size, out)
        reset(root, meta["base"])
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["commit_at_end"] = _commit()
    (out / "results.json").write_text(json.dumps({
        "machine": info, "sizes": sizes, "runs": runs, "runs_large": args.runs_large,
        "commands": [asdict(c) for c in commands], "results": results, "list_profile": profile,
    }, indent=2))
    print()
    print_table(results)
    print_side_by_side(results)
    print(f"\nload average {info['load_average_at_start']} at the start, {info['load_average_at_end']} at the end "
          f"({info['cores']} cores). Wall time well above CPU time means the machine was busy with other work; "
          "CPU s (user + sys of cpcm and its git) is the steadier figure.")
    if profile:
        print()
        print((out / f"list-profile-{max(sizes)}.txt").read_text())
    print(f"results: {out / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
