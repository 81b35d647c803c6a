"""The HTML reports in a real browser: headless Chromium opens each one from disk (offline),
logs no console message (an SVG attribute it cannot read is one), draws one bar per value
in each chart. With CPCM_SCREENSHOTS=1 it also leaves a screenshot of each page to look at in the
test's tmp folder (a Chromium run each: not in every `make test`).

`make test` installs Chromium (scripts/ensure-tools); without it these tests are skipped.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import register, shared_repo

CHROMIUM = next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test`, whose setup "
                                                          "(scripts/ensure-tools) installs Debian's chromium")
CONSOLE = re.compile(r":CONSOLE[:(]\d+")  # how Chromium logs a page's console messages on stderr
CHART = re.compile(r'<svg[^>]*data-chart="([^"]+)"[^>]*>(.*?)</svg>', re.S)
BAR = re.compile(r'<rect class="bar"[ >/]')


def chromium(tmp_path: Path, page: Path, *action: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once on a page, with a fresh profile. Its temp folder is a short
    one of its own: the socket Chromium makes there must have a path under 108 characters,
    which the test's tmp folder is not."""
    short = Path(tempfile.mkdtemp(prefix="cpcm-chromium-", dir="/tmp" if Path("/tmp").is_dir() else None))
    try:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={short / 'profile'}",
                   "--enable-logging=stderr", "--v=0", *action, page.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180,
                              env={**os.environ, "TMPDIR": str(short), "HOME": str(tmp_path / "home")})
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def screenshot(tmp_path: Path, page: Path, size: str) -> None:
    """With CPCM_SCREENSHOTS=1, a PNG of `page` at `size` beside it, for a person to look at."""
    if os.environ.get("CPCM_SCREENSHOTS") != "1":
        return
    shot = page.with_suffix(".png")
    chromium(tmp_path, page, f"--screenshot={shot}", f"--window-size={size}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


def console_messages(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if CONSOLE.search(line)]


@pytest.fixture(scope="module")
def worked_repo(tmp_path_factory, repo_template):
    """Cases registered from September, some assessed on time and some late, one planned and
    waiting for approval: every chart has bars. Made once; the tests only read it."""
    with shared_repo(tmp_path_factory, repo_template, "reports-browser") as repo:
        yield _work(repo)


def _work(repo):
    cli_as = repo
    sup = cli_as("sup")
    ids = []
    for number, (day, worker, risk) in enumerate([("2026-09-01", "amina", "high"), ("2026-09-15", "amina", "medium"),
                                                  ("2026-10-01", "otieno", "immediate"), ("2026-10-10", "otieno", "low"),
                                                  ("2026-11-02", "amina", "high")]):
        runner = cli_as(worker)
        case_id = register(runner, "--at", f"{day}T10:00:00+03:00", risk=risk,
                           child={"name": f"Test Child {number}", "sex": "female" if number % 2 else "male", "age_estimate": 3 + 3 * number})
        ids.append((case_id, runner, day, risk))
    for number, (case_id, runner, day, risk) in enumerate(ids[:4]):
        at = f"{day}T22:00:00+03:00" if number % 2 == 0 else _later(day, 3)  # within 24 hours, or late
        assessed = runner("assess", case_id, "--type", "initial", "--no-input", "--at", at, "--set", "safe=yes",
                          "--set", "basic_needs.food=yes", "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes",
                          "--set", "interim_plan_needed=no", "--outcome", "proceed", "--risk", risk)
        assert assessed.code == 0, assessed.stderr
    return sup


def _later(day: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=days)).isoformat() + "T10:00:00+03:00"


def test_browser__the_check_sees_a_console_error(tmp_path):
    """The harness itself: a page with an SVG attribute Chromium cannot read logs a console
    message, so a report with one would fail the tests below."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
                    '<svg><rect class="bar" width="wide"/></svg></body></html>', encoding="utf-8")
    assert console_messages(chromium(tmp_path, page, "--dump-dom"))


@pytest.mark.parametrize("report", ["caseload", "timeliness", "statistics", "readiness"])
def test_html_report__opens_offline_without_console_errors_with_one_bar_per_value(worked_repo, tmp_path, report):
    page = tmp_path / f"{report}.html"
    written = worked_repo("report", report, "--from", "2026-08-01", "--to", "2026-11-23", "--format", "html", "--out", str(page), "--plaintext")
    assert written.code == 0, written.stderr
    view = worked_repo("report", report, "--from", "2026-08-01", "--to", "2026-11-23", "--json").json()
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and not re.search(r'(?:src|href)="(?!data:)', html)  # nothing fetched: works offline

    done = chromium(tmp_path, page, "--dump-dom")
    assert console_messages(done) == []
    charts = {name: len(BAR.findall(body)) for name, body in CHART.findall(done.stdout)}
    assert charts == {chart["id"]: chart["drawn"] for chart in view["charts"]}
    if report not in ("statistics", "readiness"):  # no readiness record here: no domain to draw a bar for
        assert all(count > 0 for count in charts.values()), charts

    screenshot(tmp_path, page, "1200,1600")
