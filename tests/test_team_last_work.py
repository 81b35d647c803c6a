"""Who has synced: `cpcm team list` shows when each worker's latest work that this copy holds was
made (`last_commit_at`) and their latest sync that merged (`last_sync_at`), and a supervisor's
`cpcm due` warns of a colleague of whom the copy holds nothing recent (`team_sync.quiet_after`).

The times are the commits' dates, which cpcm takes from its clock (CPCM_NOW, the tests' NOW, as it
dates the records): the expected times are read back from git, and a "later" day is counted from NOW."""
from __future__ import annotations

import subprocess

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import NOW, git, register
from test_sync import Laptops

ZONE = ZoneInfo("Africa/Nairobi")  # the test repository's agency zone


@pytest.fixture
def laptops(repo, team, tmp_env):
    return Laptops(repo, team, tmp_env)


def commit_times(root, worker: str) -> list[tuple[str, str]]:
    """(date in the agency's zone, subject) of each commit by `worker`, newest first, as git has them."""
    out = git(root, "log", f"--author=<{worker}@test.cpcm.invalid>", "--format=%at%x1f%s")
    return [(datetime.fromtimestamp(int(at), ZONE).isoformat(timespec="seconds"), subject)
            for at, subject in (line.split("\x1f", 1) for line in out.splitlines())]


def later(days: int) -> str:
    """CPCM_NOW `days` after NOW (when these tests' commits are made)."""
    return (datetime.fromisoformat(NOW) + timedelta(days=days)).isoformat(timespec="seconds")


def listed(cli) -> dict[str, dict]:
    done = cli("team", "list", "--json")
    assert done.code == 0, done.stderr
    return {w["id"]: w for w in done.json()}


def amina_works_and_syncs(laptops: Laptops, at: str = NOW) -> None:
    """amina copies the shared place; the supervisor writes and syncs; amina writes and syncs (her
    sync merges the supervisor's work: a `sync merge` commit of hers), at `at`."""
    laptops.laptop("amina")
    amina = laptops.cli("amina", CPCM_NOW=at)
    register(laptops.cli("sup"))
    laptops.sync("sup")
    register(amina)
    done = amina("sync")
    assert done.code == 0, done.stderr


def test_team_list__shows_a_colleagues_last_work_once_it_reached_this_copy(laptops):
    amina_works_and_syncs(laptops)
    sup = laptops.cli("sup")
    before = listed(sup)
    assert before["amina"]["last_commit_at"] is None and before["amina"]["last_sync_at"] is None  # not here yet
    assert before["sup"]["last_commit_at"] == commit_times(laptops.repo, "sup")[0][0]

    laptops.sync("sup")
    after = listed(sup)
    hers = commit_times(laptops.repo, "amina")
    assert [subject.split()[0:2] for _, subject in hers][0] == ["sync", "merge"]
    assert after["amina"]["last_commit_at"] == hers[0][0]
    assert after["amina"]["last_sync_at"] == next(at for at, subject in hers if subject.startswith("sync merge "))
    assert after["amina"]["last_commit_at"].endswith("+03:00")  # in the agency's zone
    # otieno never synced (nor wrote): none, on the supervisor's copy as on amina's
    assert after["otieno"]["last_commit_at"] is None and after["otieno"]["last_sync_at"] is None
    assert listed(laptops.cli("amina"))["otieno"]["last_commit_at"] is None
    # the keys every listing had are kept
    assert set(after["otieno"]) >= {"id", "name", "roles", "recipient", "since"}

    text = sup("team", "list")  # piped: tab-separated, nothing cut
    assert text.code == 0, text.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in text.stdout.splitlines()}
    assert rows["id"][-2:] == ["last work here", "last sync"]
    assert rows["amina"][-2:] == [hers[0][0][:10], after["amina"]["last_sync_at"][:10]]
    assert rows["otieno"][-2:] == ["none", ""]


def test_team_list__all_shows_a_removed_workers_last_work(laptops):
    amina_works_and_syncs(laptops)
    laptops.sync("sup")
    sup = laptops.cli("sup")
    cases = sup("list", "--worker", "amina", "--json").json()
    for case in cases:
        assert sup("assign", case["case_id"], "--worker", "otieno").code == 0
    done = sup("team", "remove", "amina")
    assert done.code == 0, done.stderr
    workers = {w["id"]: w for w in sup("team", "list", "--all", "--json").json()}
    assert workers["amina"]["removed"] and workers["amina"]["last_commit_at"] == commit_times(laptops.repo, "amina")[0][0]


def test_due__a_supervisor_is_told_of_a_colleague_whose_work_has_not_reached_this_copy(laptops):
    amina_works_and_syncs(laptops, later(8))
    laptops.sync("sup")

    def warned(worker: str, days: int, *extra: str) -> str:
        done = laptops.cli(worker, CPCM_NOW=later(days))("due", *extra)
        assert done.code == 0, done.stderr
        return next((line for line in done.stderr.splitlines() if "team_sync.quiet_after" in line), "")

    # fifteen days on: amina's work (day 8) is recent; otieno joined on NOW and nothing of his is here
    line = warned("sup", 15)
    assert line.startswith("warning: no work of otieno has reached this copy in 14 days"), line
    # twenty-five days on, amina's work is too old as well; the supervisor's own is never named
    assert "no work of amina, otieno has reached" in warned("sup", 25)
    assert "sup" not in warned("sup", 25).split("(")[0]
    # only a supervisor's or manager's own list, and the text: not a caseworker's, not --json, not another's list
    assert warned("amina", 25) == ""
    assert warned("sup", 25, "--json") == ""
    assert warned("sup", 25, "--worker", "amina") == ""


def test_due__the_quiet_time_is_the_agencys_to_set_or_turn_off(laptops, tmp_env):
    amina_works_and_syncs(laptops)
    laptops.sync("sup")
    sup = laptops.cli("sup")

    def warning(text: str, days: int = 10) -> str:
        path = tmp_env / "policy.yaml"
        path.write_text(text)
        done = sup("policy", "set", str(path))
        assert done.code == 0, done.stderr
        due = laptops.cli("sup", CPCM_NOW=later(days))("due")
        assert due.code == 0, due.stderr
        found = [line for line in due.stderr.splitlines() if "team_sync.quiet_after" in line]
        assert len(found) <= 1, found
        return found[0] if found else ""

    # amina's work, twenty days old (named with the 14 days of the profile), is within 60 days
    # (otieno, who joined on NOW, is named once that is 60 days ago)
    assert "amina" not in warning("rules:\n  team_sync:\n    quiet_after: 60d\n", days=20)
    assert warning("rules:\n  team_sync:\n    quiet_after: 5d\n").startswith(
        "warning: no work of amina, otieno has reached this copy in 5 days (team_sync.quiet_after)")
    assert warning("rules:\n  team_sync:\n    quiet_after: 5d\n    warn: false\n") == ""


def test_quiet_workers__counts_from_the_latest_work_or_from_joining():
    from cpcm.domain.durations import parse_duration
    from cpcm.domain.team import Team, Worker, quiet_workers

    now = datetime(2026, 12, 20, 9, 0, tzinfo=ZONE)
    team = Team((Worker("sup", "S", ("supervisor",), "age1s", since="2026-11-01T09:00:00+03:00"),
                 Worker("amina", "A", ("caseworker",), "age1a", since="2026-11-01T09:00:00+03:00"),
                 Worker("new", "N", ("caseworker",), "age1n", since="2026-12-15T09:00:00+03:00"),
                 Worker("old", "O", ("caseworker",), "age1o", since="2026-11-01T09:00:00+03:00"),
                 Worker("gone", "G", ("caseworker",), "age1g", since="2026-11-01T09:00:00+03:00",
                        removed="2026-11-02T09:00:00+03:00")))
    after = parse_duration("14d")
    latest = {"amina": now - timedelta(days=13, hours=23), "old": now - timedelta(days=14)}
    assert quiet_workers(team, latest, now, after, me="sup") == ["old"]
    assert quiet_workers(team, {}, now, after) == ["sup", "amina", "old"]  # never any work: from joining


def test_team_list__a_long_history_is_read_once_then_only_what_came_since(laptops, monkeypatch):
    """What a listing found is kept in git's folder with the commit it was taken at; the next one
    reads only the commits made since, and finds what a whole read finds. A memo from a commit no
    longer in the history (a copy reset by hand), or a damaged one, is not trusted."""
    from cpcm.store import audit

    amina_works_and_syncs(laptops)
    laptops.sync("sup")
    sup = laptops.cli("sup")
    root = laptops.repo
    memo = root / ".git" / audit.LAST_WORK
    first = listed(sup)
    head = git(root, "rev-parse", "HEAD").strip()
    assert memo.is_file() and f'"head": "{head}"' in memo.read_text()
    assert "CP-" not in memo.read_text()  # worker ids and dates only

    register(sup)  # one commit more
    logs = []
    real = audit._git_bytes

    def spy(root_, args, data=None):
        if args[0] == "log":
            logs.append(list(args))
        return real(root_, args, data)

    monkeypatch.setattr(audit, "_git_bytes", spy)
    kept = audit.latest_by_worker(root, "TEST")
    assert logs and f"^{head}" in logs[-1]  # only what came since
    memo.unlink()
    whole = audit.latest_by_worker(root, "TEST")
    assert f"^{head}" not in logs[-1] and kept == whole
    assert whole["sup"][0] >= whole["amina"][0] and set(whole) == {"sup", "amina"}

    # a memo taken at a commit that is not in the history (a copy reset by hand): not trusted
    stray = subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", "-m", "x", "HEAD^{tree}"],
                           cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    memo.write_text('{"head": "%s", "work": {"zed@test.cpcm.invalid": 1}, "synced": {}}' % stray)
    assert audit.latest_by_worker(root, "TEST") == whole
    memo.write_text('{"head": "not a commit", "work": {}, "synced": {}}')  # damaged
    assert audit.latest_by_worker(root, "TEST") == whole
    assert listed(sup)["amina"] == first["amina"]
