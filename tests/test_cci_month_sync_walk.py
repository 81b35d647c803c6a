"""A month of a small children's home (CCI), three staff on three laptops: a supervisor (sue, the office
copy) and two caseworkers (amina, baraka), offline for days, meeting through a bare repository in a
shared folder (`cpcm sync`) or a USB stick carrying bundles (`cpcm bundle create/apply`). The installed
`cpcm` runs as a process, as the home runs it, with CPCM_REPO, CPCM_IDENTITY and CPCM_NOW set.

The walk looks at what two laptops do to the same case while apart, then meet, beyond what the other
*_sync tests cover: one record corrected on two laptops; a plan version approved at the office while its
author withdrew it on her laptop; bundles carried out of order, twice, cut short, and from another
agency's repository; the shared folder gone (a stick pulled out) in the middle of a sync, then the sync
run again. For each: what the user is told, that nothing is lost or doubled, and that the message says
what to do."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CANARY, git, make_identity, make_repo, registration
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

pytestmark = pytest.mark.external  # the cpcm command, run as a process
CPCM = str(Path(sys.executable).parent / "cpcm")  # the installed command
WORKERS = {"sue": "supervisor", "amina": "caseworker", "baraka": "caseworker"}


def day(n: int, hour: int = 9) -> str:
    return f"2026-11-{n:02d}T{hour:02d}:00:00+03:00"


class Ran:
    def __init__(self, done):
        self.code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr

    def json(self):
        return json.loads(self.stdout)


class Home:
    """The office copy (sue's, made by `cpcm init`), the shared folder, and a laptop each for amina
    and baraka cloned from it; `run(worker, day, *args)` runs cpcm as that worker on their copy."""

    def __init__(self, base: Path):
        self.base = base
        self.keys = {}
        for worker in WORKERS:
            path = base / "keys" / f"{worker}.txt"
            self.keys[worker] = (path, make_identity(path))
        self.copies = {"sue": make_repo(base / "sue", self.keys, workers=WORKERS, now=day(2))}
        self.shared = base / "shared.git"

    def env(self, worker: str, now: str, **more: str) -> dict:
        return {**os.environ, "CPCM_REPO": str(self.copies[worker]), "CPCM_IDENTITY": str(self.keys[worker][0]),
                "CPCM_NOW": now, **more}

    def run(self, worker: str, now: str, *args: str, input: str = "") -> Ran:
        done = subprocess.run([CPCM, *args], env=self.env(worker, now), input=input, capture_output=True, text=True)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
        return Ran(done)

    def ok(self, worker: str, now: str, *args: str, input: str = "") -> Ran:
        done = self.run(worker, now, *args, input=input)
        assert done.code == 0, done.stderr
        return done

    def laptop(self, worker: str) -> None:
        path = self.base / worker
        subprocess.run(["git", "clone", "-q", str(self.shared), str(path)], check=True, capture_output=True)
        self.copies[worker] = path

    def meet(self, now: str) -> list[dict]:
        """Every laptop syncs (amina, sue, baraka, then amina and sue again to take the merges): their reports."""
        return [self.ok(w, now, "sync", "--json").json() for w in ("amina", "sue", "baraka", "amina", "sue")]

    def checks(self, worker: str, now: str, case_id: str) -> dict[str, str]:
        return {p["code"]: p["message"] for p in self.ok(worker, now, "check", case_id, "--json").json()}

    def no_name_on_disk(self) -> None:
        for root in [*self.copies.values(), self.shared]:
            assert CANARY not in git(root, "log", "--all", "--format=%an %s %b")
            for path in root.rglob("*"):
                assert CANARY.split()[0] not in path.name
                if path.is_file() and ".git" not in path.relative_to(root).parts[:1] and "objects" not in path.parts:
                    assert CANARY.encode() not in path.read_bytes(), path


def conflicts(reports: list[dict], case_id: str) -> list[str]:
    return sorted({c["code"] for r in reports for c in r["conflicts"] if c.get("case") == case_id})


@pytest.fixture
def home(tmp_env) -> tuple[Home, str]:
    """Amina's case, assessed and planned (version 1 waiting for sue's approval), on all three copies."""
    home = Home(tmp_env)
    home.ok("sue", day(2), "remote", "add", "origin", str(home.shared), "--create")
    home.ok("sue", day(2), "sync")
    home.laptop("amina")
    home.laptop("baraka")
    child = {"name": CANARY, "sex": "female", "date_of_birth": "2014-06-01", "disability": "no"}
    case_id = home.ok("amina", day(2), "register", "--from-file", "-", "--json",
                      input=json.dumps(registration(child=child))).json()["case_id"]
    home.ok("amina", day(3), "assess", case_id, "--type", "initial", "--risk", "high", *INITIAL)
    home.ok("amina", day(3), "assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    home.ok("amina", day(4), "plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
    home.meet(day(4, 17))
    return home, case_id


def test_one_record_corrected_on_two_laptops__kept_both_named_by_sync_check_and_log_and_settled(home):
    home, case_id = home
    # apart: amina corrects the physical rating on her laptop, sue the child's views at the office
    fixed = home.ok("amina", day(5), "correct", case_id, "assessment@comprehensive", "--set", "dimensions.physical.rating=3",
                    "--reason", "rating mistyped", "--json").json()["record_id"]
    views = home.ok("sue", day(5, 11), "correct", case_id, "assessment@comprehensive", "--set", "child_views=wants to stay",
                    "--reason", "views left out", "--json").json()["record_id"]
    reports = home.meet(day(6))
    assert conflicts(reports, case_id) == ["corrections-concurrent"]
    # nothing lost: both corrections are in the log on every copy; the log says what the merge found
    for worker in ("sue", "amina"):
        rows = home.ok(worker, day(6, 16), "log", case_id, "--json").json()
        by_id = {row["record_id"]: row for row in rows}
        assert fixed in by_id and views in by_id
        earlier, later = sorted((fixed, views))  # the later replaces the earlier (fold.effective): the log says so
        assert by_id[earlier]["superseded_by"] == later and by_id[later]["superseded_by"] is None
        found = [row for row in rows if row["kind"] == "sync_conflict"]
        assert len(found) == 1 and found[0]["what"].startswith("corrections-concurrent") and fixed in found[0]["what"], found
    # check says only the later is in force and how to settle it; verify finds nothing wrong
    problem = home.checks("sue", day(6, 16), case_id)["corrections-concurrent"]
    assert "only the later correction is in force" in problem and "correct it again" in problem
    assert home.run("sue", day(6, 16), "verify").code == 0
    # settled: the correction in force corrected again with the other change, then a note
    home.ok("sue", day(7), "correct", case_id, "assessment@comprehensive", "--set", "dimensions.physical.rating=3",
            "--reason", "both corrections")
    home.ok("sue", day(7), "note", case_id, "--text", "both corrections are in the assessment now")
    assert "corrections-concurrent" not in home.checks("sue", day(7), case_id)
    shown = home.ok("sue", day(7), "show", case_id, "assessment@comprehensive", "--json").json()
    assert shown["fields"]["child_views"] == "wants to stay" and shown["fields"]["dimensions"]["physical"]["rating"] == 3
    home.meet(day(7, 17))
    assert "corrections-concurrent" not in home.checks("amina", day(8), case_id)
    home.no_name_on_disk()


def test_a_plan_approved_at_the_office_while_its_author_withdrew_it_on_her_laptop_is_a_conflict(home):
    """Sue approves plan version 1 at the office (told: it is in force); amina, on her laptop, withdraws
    it (told: no plan is in force, write one). After the sync version 1 is in force on every copy, and
    amina's withdrawal decided nothing: the merge names it, and check says what undoes it."""
    home, case_id = home
    assert "is in force" in home.ok("sue", day(5), "approve", case_id, "plan").stderr
    assert "no plan in force" in home.ok("amina", day(5, 11), "plan", case_id, "--withdraw", "--reason", "wrong school").stderr
    reports = home.meet(day(6))
    assert conflicts(reports, case_id) == ["decisions-concurrent"]
    for worker in ("sue", "amina"):
        plan = home.ok(worker, day(6, 16), "show", case_id, "--json").json()["plan"]
        assert (plan["version"], plan["withdrawn_at"]) == (1, None) and plan["approved_at"]
        problem = home.checks(worker, day(6, 16), case_id)["decisions-concurrent"]
        assert "withdrawn by its author" in problem and f"cpcm plan {case_id} --from-current" in problem, problem
    home.ok("amina", day(7), "plan", case_id, "--from-current", "--reason", "correction", "--set", "contingency=the aunt")
    home.ok("sue", day(7, 10), "note", case_id, "--text", "version 2 replaces the one withdrawn")
    home.meet(day(7, 12))
    assert "decisions-concurrent" not in home.checks("amina", day(7, 17), case_id)
    plan = home.ok("amina", day(7, 17), "show", case_id, "--json").json()["plan"]
    assert plan["version"] == 2 and plan["previous"]["version"] == 1  # version 1 in force while version 2 waits


def test_a_plan_corrected_on_the_laptop_while_the_office_wrote_the_next_version_from_it_says_the_correction_is_missing(home):
    """Amina corrects an action's date in plan version 1 on her laptop; sue, at the office, writes version 2
    from version 1 as her copy has it. Both are kept (plans-concurrent); version 2, the one to decide, does
    not hold amina's date: check says so and how to put it in, rather than only 'approve the latest'."""
    home, case_id = home
    fixed = home.ok("amina", day(5), "correct", case_id, "plan", "--set", "actions.A1.by=2026-12-01", "--reason", "date wrong")
    home.ok("sue", day(5, 11), "plan", case_id, "--from-current", "--reason", "review", "--set", "contingency=the uncle")
    reports = home.meet(day(6))
    assert conflicts(reports, case_id) == ["plans-concurrent"]
    correction = fixed.stderr.split()[0]
    problem = home.checks("amina", day(6, 16), case_id)["plans-concurrent"]
    assert f"corrected on one copy ({correction})" in problem and "does not hold that correction" in problem, problem
    plan = home.ok("amina", day(6, 16), "show", case_id, "--json").json()["plan"]
    assert plan["version"] == 2 and [a["by"] for a in plan["actions"] if a["id"] == "A1"] == ["2026-12-15"]
    # settled: the version with the correction written after the merge
    home.ok("amina", day(7), "plan", case_id, "--from-current", "--reason", "correction", "--set", "actions.A1.by=2026-12-01")
    assert "plans-concurrent" not in home.checks("amina", day(7), case_id)


def test_bundles_on_the_stick__out_of_order_twice_cut_short_and_another_agencys(home, tmp_env):
    home, case_id = home
    usb = tmp_env / "usb"
    usb.mkdir()
    start = git(home.copies["baraka"], "rev-parse", "HEAD").strip()
    first = home.ok("baraka", day(8), "register", "--from-file", "-", "--json", input=json.dumps(registration())).json()["case_id"]
    home.ok("baraka", day(8), "bundle", "create", str(usb / "first.bundle"), "--since", start)
    middle = git(home.copies["baraka"], "rev-parse", "HEAD").strip()
    own = home.ok("baraka", day(9), "register", "--from-file", "-", "--json", input=json.dumps(registration())).json()["case_id"]
    home.ok("baraka", day(9), "bundle", "create", str(usb / "second.bundle"), "--since", middle)
    before = git(home.copies["sue"], "rev-parse", "HEAD")
    # the second bundle first: refused, nothing changed, and told to apply the earlier one first
    early = home.run("sue", day(10), "bundle", "apply", str(usb / "second.bundle"))
    assert early.code == 6 and "apply it first" in early.stderr and "Nothing was changed" in early.stderr, early.stderr
    assert git(home.copies["sue"], "rev-parse", "HEAD") == before
    # a bundle cut short (the stick pulled out while it was copied): refused, and told how to get a whole one
    whole = (usb / "first.bundle").read_bytes()
    (usb / "cut.bundle").write_bytes(whole[: len(whole) // 2])
    cut = home.run("sue", day(10), "bundle", "apply", str(usb / "cut.bundle"))
    assert cut.code == 4 and "nothing was changed" in cut.stderr and "cpcm bundle create FILE" in cut.stderr, cut.stderr
    assert git(home.copies["sue"], "rev-parse", "HEAD") == before
    # in order: each once; the second again changes nothing
    assert home.ok("sue", day(10), "bundle", "apply", str(usb / "first.bundle"), "--json").json()["registered"] == [first]
    assert home.ok("sue", day(10), "bundle", "apply", str(usb / "second.bundle"), "--json").json()["registered"] == [own]
    after = git(home.copies["sue"], "rev-parse", "HEAD")
    assert home.ok("sue", day(10), "bundle", "apply", str(usb / "second.bundle"), "--json").json()["commits"] == 0
    assert git(home.copies["sue"], "rev-parse", "HEAD") == after
    listed = [c["case_id"] for c in home.ok("sue", day(10), "list", "--json").json()]
    assert sorted(listed) == sorted([case_id, first, own])
    # another agency's bundle (sue supervises there too): named as that agency's, not merged
    other = make_repo(tmp_env / "other-home", home.keys, agency="OTHERHOME", name="Other Home", workers=WORKERS, now=day(10))
    home.copies["other"], home.keys["other"] = other, home.keys["sue"]
    home.ok("other", day(10), "bundle", "create", str(usb / "other.bundle"))
    foreign = home.run("sue", day(10), "bundle", "apply", str(usb / "other.bundle"))
    assert foreign.code == 4 and "agency OTHERHOME" in foreign.stderr and "nothing was merged" in foreign.stderr, foreign.stderr
    assert "cpcm receive FILE" in foreign.stderr
    assert git(home.copies["sue"], "rev-parse", "HEAD") == after


def _paused_sync(home: Home, worker: str, now: str, step: str):
    """`cpcm sync` as `worker`, stopped (SIGSTOP) at crash point `step` of the folder carry."""
    proc = subprocess.Popen([CPCM, "sync"], env=home.env(worker, now, CPCM_TEST_PAUSE_AT=step), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the sync ended before {step}"
    return proc


@pytest.mark.parametrize("step", ["carry-read#2", "carry-push-ref"])
def test_the_stick_pulled_out_mid_sync__what_arrived_and_its_conflict_are_said_and_the_next_sync_sends_the_rest(home, step):
    """The shared folder goes away while amina's sync pushes (after it merged what arrived, in which it
    found a conflict): the sync says what arrived and the conflict, that her commits were not sent and
    how to send them (exit 6, no crash). Plugged in again, the next sync sends them; nothing is lost."""
    home, case_id = home
    home.ok("amina", day(11), "correct", case_id, "assessment@comprehensive", "--set", "dimensions.physical.rating=1",
            "--reason", "rating")
    home.ok("amina", day(11), "note", case_id, "--text", "visited the school")
    home.ok("sue", day(11, 10), "correct", case_id, "assessment@comprehensive", "--set", "child_views=school", "--reason", "views")
    home.ok("sue", day(11, 10), "sync")
    sync = _paused_sync(home, "amina", day(12), step)
    pulled = home.base / "stick-elsewhere"
    home.shared.rename(pulled)  # the stick pulled out
    os.kill(sync.pid, signal.SIGCONT)
    out, err = sync.communicate(timeout=120)
    assert sync.returncode == 6 and "Traceback" not in err and "internal error" not in err, err
    assert "1 record(s) in 1 case(s) arrived" in err and f"{case_id}: corrections-concurrent" in err, err
    assert "your commits were not sent" in err and "cpcm sync origin" in err and "nothing was changed" not in err, err
    assert "corrections-concurrent" in home.checks("amina", day(12), case_id)
    pulled.rename(home.shared)  # plugged in again
    again = home.ok("amina", day(12, 10), "sync")
    assert "pushed your commits" in again.stderr, again.stderr
    arrived = home.ok("sue", day(12, 11), "sync", "--json").json()
    assert arrived["records"] == 3 and [c["code"] for c in arrived["conflicts"]] == ["corrections-concurrent"], arrived
    rows = home.ok("sue", day(12, 11), "log", case_id, "--json").json()
    assert len(rows) == len({row["record_id"] for row in rows}) == 8  # 4, the 2 corrections, a note, the conflict; none twice
    assert home.run("sue", day(12, 11), "verify").code == 0
    assert subprocess.run(["git", "-C", str(home.shared), "fsck", "--no-progress"], capture_output=True).returncode == 0
