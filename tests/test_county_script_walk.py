"""A county office's unattended script, walked as it runs: `set -euo pipefail`, no one at the
terminal, the installed `cpcm` run as a process with CPCM_REPO, CPCM_IDENTITY and CPCM_NOW set, its
output piped to files and programs. Each morning `cpcm due --json --worker all`; a batch of a few
hundred reviews (`cpcm review --batch`); the monthly reports and `cpcm export`.

What the walk checks: every --json output is one JSON document with the keys the docs give, and
nothing else is on stdout; exit codes as docs/exit-codes.md gives them (0, 3 for nothing by that
name, 4 for a bad row, 5 for a passphrase nobody can type); piped output holds no colour; a batch
killed before its commit is rolled back and written once by the next run; a batch killed after its
commit (its output lost) and run again is not recorded twice: the second run says the reviews are
recorded already (this once recorded every review a second time); a batch with one bad row names
the row and field and writes nothing; without a terminal, a passphrase-protected identity gives a
clear error at once; a past month's reports are the same run twice and after new work.

The office's repository is built once for the module (`county`); each test works on a copy of its own."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CANARY, git, make_repo, private_env, stray_files
from test_followup_close import planned_cases

CPCM = str(Path(sys.executable).parent / "cpcm")  # the installed command, as the office's script runs it
CASES = 210  # a few hundred reviews: from 200 rows a batch is checked and encrypted on every core
MORNING = "2026-11-20T08:00:00+03:00"
DUE_KEYS = {"case_id", "code", "title", "due", "target", "state", "owner", "rule", "why", "source", "risk"}
BATCH_KEYS = {"reviewed", "checked", "dry_run", "warnings", "records", "next_steps"}
ERROR_KEYS = {"error", "message", "exit_code"}
TERMINAL_ONLY = re.compile(r"\x1b\[|[┏┃━│└┡╇]")  # colour codes and rich's box characters
HEADING = ["case", "chair", "attended.child", "attended.family", "plan_still_right", "decisions", "outcome"]


class Office:
    def __init__(self, root: Path, keys: dict, ids: list[str], base: Path):
        self.root, self.keys, self.ids, self.base = root, keys, ids, base

    def env(self, worker: str = "sup", now: str = MORNING, **more: str) -> dict:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_")}
        env.update({"CPCM_REPO": str(self.root), "CPCM_IDENTITY": str(self.keys[worker][0]), "CPCM_NOW": now})
        env.update(more)
        return env

    def run(self, *args: str, worker: str = "sup", now: str = MORNING, stdin=subprocess.DEVNULL, **more: str):
        """`cpcm ARGS` as the script runs it: no terminal anywhere, stdout and stderr to pipes."""
        return subprocess.run([CPCM, *args], env=self.env(worker, now, **more), stdin=stdin, capture_output=True, text=True,
                              timeout=300)


def _child(number: int) -> dict:
    """The county's children: the first is the canary child."""
    return {"name": CANARY if number == 0 else f"Child Number{number}", "sex": ("female", "male")[number % 2],
            "date_of_birth": "2014-03-01", "disability": "no"}


@pytest.fixture(scope="module")
def built(tmp_path_factory, repo_template):
    from datetime import datetime

    from cpcm import service

    base = tmp_path_factory.mktemp("county-script")
    with private_env(base):
        keys = repo_template.copy_keys(base / "keys")
        start = "2026-08-03T09:00:00+03:00"
        root = make_repo(base / "casefiles", keys, agency="KSM-CO", name="County Office", now=start)
        ids = planned_cases(service.open_repo(root, keys["amina"][0], now=datetime.fromisoformat(start)), CASES, _child)
        yield base, keys, ids


@pytest.fixture
def county(built, tmp_path) -> Office:
    base, keys, ids = built
    root = shutil.copytree(base / "casefiles", tmp_path / "casefiles", symlinks=True)
    return Office(root, keys, ids, tmp_path)


def clean(result, code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-1500:], result.stderr[-1500:])
    for text in (result.stdout, result.stderr):
        assert CANARY.split()[0] not in text and "Traceback" not in text and not TERMINAL_ONLY.search(text), text[-1500:]


def as_json(result, code: int = 0):
    clean(result, code)
    return json.loads(result.stdout)  # one JSON document and nothing else


def json_error(result, code: int) -> dict:
    error = as_json(result, code)
    assert ERROR_KEYS <= set(error) and error["exit_code"] == code, error
    assert result.stderr.startswith("error: "), result.stderr
    return error


def batch_file(folder: Path, ids: list[str], name: str = "reviews.csv", **changes) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADING, lineterminator="\n")
    writer.writeheader()
    for case_id in ids:
        writer.writerow(dict({"case": case_id, "chair": "sup", "attended.child": "yes", "attended.family": "yes",
                              "plan_still_right": "yes", "decisions": "keep the plan;visit the school", "outcome": "continue"},
                             **changes.get(case_id, {})))
    path = folder / name
    path.write_text(out.getvalue())
    return path


def reviews_per_case(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (root / "cases").rglob("*.review.yaml.age"):
        counts[path.parent.name] = counts.get(path.parent.name, 0) + 1
    return counts


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def test_the_morning__due_json_plain_when_piped_and_the_exit_codes_of_the_docs(county):
    due = as_json(county.run("due", "--json", "--worker", "all"))
    assert isinstance(due, list) and {item["case_id"] for item in due} == set(county.ids)
    for item in due:
        assert DUE_KEYS <= set(item), item
        assert item["code"] == "review" and item["state"] == "overdue" and item["owner"] == "amina", item
    assert as_json(county.run("due", "--json")) == []  # the supervisor's own: nothing due is an empty list, exit 0
    plain = county.run("due", "--worker", "all")
    clean(plain, 0)
    assert plain.stdout.splitlines()[0].split("\t")[:2] == ["state", "case"]
    json_error(county.run("due", "--json", "--worker", "nobody"), 3)
    json_error(county.run("show", "CP-0000-0000", "--json"), 3)
    usage = county.run("due", "--json", "--within", "soon")
    assert usage.returncode == 2 and json.loads(usage.stdout)["error"] == "UsageError"
    listed = as_json(county.run("list", "--json", "--worker", "amina"))
    assert len(listed) == CASES


def test_a_batch_with_one_bad_row__names_the_row_and_field_and_writes_nothing(county):
    path = batch_file(county.base, county.ids[:20], **{county.ids[7]: {"attended.family": "maybe"}})
    before = git(county.root, "rev-parse", "HEAD")
    error = json_error(county.run("review", "--batch", str(path), "--json"), 4)
    assert error["rule"] == "form-validation"
    assert error["fields"] == [{"field": "row 9: attended.family", "reason": "is not one of: yes, no"}]  # the header is row 1
    assert "nothing was written" in error["hint"]
    assert git(county.root, "rev-parse", "HEAD") == before and stray_files(county.root) == []
    assert git(county.root, "status", "--porcelain") == "" and reviews_per_case(county.root) == {}


def test_a_batch_whose_rows_name_no_case__ends_with_not_found_as_one_case_would_and_says_it_per_row(county):
    """A script tells a case that is not there (3) from a bad field (4): per row, and by the exit code when
    every wrong row is wrong for that one cause (this once gave 4, form-validation, for an unknown case)."""
    before = git(county.root, "rev-parse", "HEAD")
    unknown = batch_file(county.base, [*county.ids[:3], "CP-0000-0000"], name="unknown.csv")
    error = json_error(county.run("review", "--batch", str(unknown), "--json"), 3)
    assert error["fields"] == [{"field": "row 5: case", "reason": "no case CP-0000-0000 in this casefile repository",
                                "exit_code": 3}]
    mixed = batch_file(county.base, [*county.ids[:3], "CP-0000-0000"], name="mixed.csv",
                       **{county.ids[1]: {"attended.family": "maybe"}})
    error = json_error(county.run("review", "--batch", str(mixed), "--json"), 4)
    assert [(f["field"], f.get("exit_code")) for f in error["fields"]] == [("row 3: attended.family", None), ("row 5: case", 3)]
    assert git(county.root, "rev-parse", "HEAD") == before and reviews_per_case(county.root) == {}


def test_a_batch_killed_before_its_commit__the_next_run_writes_every_review_once(county):
    path = batch_file(county.base, county.ids)
    before = commits(county.root)
    killed = county.run("review", "--batch", str(path), "--json", CPCM_TEST_CRASH_AT="batch-flushed")
    assert killed.returncode == -signal.SIGKILL and killed.stdout == "", killed.stderr
    again = county.run("review", "--batch", str(path), "--json")
    done = as_json(again)
    assert set(done) == BATCH_KEYS and done["reviewed"] == CASES and not done["dry_run"], done  # nothing to say already
    assert commits(county.root) == before + 1 and stray_files(county.root) == []
    assert reviews_per_case(county.root) == {case_id: 1 for case_id in county.ids}


def test_a_batch_killed_after_its_commit__run_again_it_records_nothing_twice_and_says_so(county):
    """The script's first run committed, then was killed before it printed (its JSON lost): the
    script cannot tell, and runs the batch again. Each review is recorded once."""
    path = batch_file(county.base, county.ids)
    before = commits(county.root)
    killed = county.run("review", "--batch", str(path), "--json", CPCM_TEST_CRASH_AT="journal-removed")
    assert killed.returncode == -signal.SIGKILL and killed.stdout == "", killed.stderr
    assert commits(county.root) == before + 1
    dry = as_json(county.run("review", "--batch", str(path), "--dry-run", "--json"))
    assert dry["records"] == [] and len(dry["already_recorded"]) == CASES
    again = as_json(county.run("review", "--batch", str(path), "--json"))
    assert again["reviewed"] == 0 and again["checked"] == CASES and again["records"] == []
    assert {item["case_id"] for item in again["already_recorded"]} == set(county.ids)
    assert commits(county.root) == before + 1 and stray_files(county.root) == []
    assert reviews_per_case(county.root) == {case_id: 1 for case_id in county.ids}
    said = county.run("review", "--batch", str(path))
    clean(said, 0)
    assert said.stdout == "" and said.stderr == (f"{CASES} review(s) checked, nothing written: {CASES} review(s) already recorded today by you "
                           "with the same fields (this batch ran before), not recorded twice\n")
    # a batch with some rows new: those are written, the others named as recorded already
    changed = batch_file(county.base, county.ids[:3], "more.csv", **{county.ids[2]: {"decisions": "a new decision"}})
    more = as_json(county.run("review", "--batch", str(changed), "--json"))
    assert [r["case_id"] for r in more["records"]] == [county.ids[2]]
    assert [r["case_id"] for r in more["already_recorded"]] == county.ids[:2]
    # the next day the same batch is a new review of each case
    later = as_json(county.run("review", "--batch", str(path), "--json", now="2026-11-21T08:00:00+03:00"))
    assert later["reviewed"] == CASES and "already_recorded" not in later
    assert commits(county.root) == before + 3


def test_no_terminal_and_no_passphrase_file__a_clear_error_not_a_wait(county, tmp_path):
    from cpcm.crypto import identity

    locked = tmp_path / "sup-locked.txt"
    identity.save(locked, county.keys["sup"][0].read_text(), "county office secret")
    for stdin in (subprocess.DEVNULL, None):
        env = county.env(CPCM_IDENTITY=str(locked))
        done = subprocess.run([CPCM, "due", "--json", "--worker", "all"], env=env, capture_output=True, text=True,
                              stdin=stdin if stdin is not None else subprocess.DEVNULL, timeout=120,
                              start_new_session=True)  # no controlling terminal to ask on
        error = json_error(done, 5)
        assert "passphrase-protected and no passphrase was given" in error["message"]
        assert "CPCM_PASSPHRASE_FILE" in error["hint"]
    secret = tmp_path / "passphrase"
    secret.write_text("county office secret\n")
    secret.chmod(0o600)
    due = as_json(county.run("due", "--json", "--worker", "all", CPCM_IDENTITY=str(locked), CPCM_PASSPHRASE_FILE=str(secret)))
    assert len(due) == CASES


def test_a_past_months_reports_are_the_same_run_twice_and_after_new_work(county):
    december = "2026-12-02T08:00:00+03:00"

    def reports(now: str) -> dict:
        out = {}
        for report in ("statistics", "timeliness", "placements"):
            made = as_json(county.run("report", report, "--from", "2026-08-01", "--to", "2026-08-31", "--json", now=now))
            made.get("meta", {}).pop("generated_at", None)
            out[report] = made
        return out

    first = reports(december)
    assert first["statistics"]["period_over"] is True
    assert reports(december) == first
    path = batch_file(county.base, county.ids[:30])
    assert as_json(county.run("review", "--batch", str(path), "--json", now=december))["reviewed"] == 30
    after = reports(december)
    assert after["statistics"] == first["statistics"] and after["placements"] == first["placements"]
    exported = as_json(county.run("export", "--format", "csv", "--recipient", "sup", "--out", str(county.base / "cases.csv.age"),
                                  "--json", now=december))
    assert exported["cases"] == CASES and exported["encrypted"] is True
    assert CANARY.split()[0].encode() not in (county.base / "cases.csv.age").read_bytes()
    log = git(county.root, "log", "--format=%an %s %b")
    assert CANARY.split()[0] not in log
