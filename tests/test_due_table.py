"""The due and statistics tables kept with the cache (cpcm/service/tables.py): `cpcm due` and
`cpcm report statistics` print the same with them as computed from every folded case, after each
kind of write, after a policy change and as the clock passes a date; a case unchanged since the
table was made is not read again; and no cache file holds plaintext.

`without_tables` runs a command with the tables switched off (the session keeps none): what
every command did before they existed."""
from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from conftest import CANARY, NOW, Cli, register
from cpcm.service import tables
from cpcm.store.layout import case_dir
from cpcm.workflow import intervals
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_followup_close import GOALS_MET, REVIEW, visit
from test_sync import laptops  # noqa: F401 - the fixture

DUE = [(), ("--json",), ("--worker", "all"), ("--worker", "all", "--json"), ("--within", "60"), ("--within", "0.5", "--json"),
       ("--overdue",), ("--overdue", "--worker", "all", "--json"), ("--worker", "otieno")]
STATISTICS = [("--from", "2026-01-01", "--to", "2026-12-31", "--json"), ("--from", "2026-11-23", "--to", "2026-11-23", "--json"),
              ("--from", "2026-01-01", "--to", "2027-12-31")]
LATER = ["2026-11-24T08:59:00+03:00", "2026-11-25T09:30:00+03:00", "2026-12-20T12:00:00+03:00", "2027-03-01T09:00:00+03:00"]


@contextlib.contextmanager
def no_tables(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(tables, "_session", lambda ctx: None)
        yield


@pytest.fixture
def without_tables(monkeypatch):
    def run(cli: Cli, *args: str, **kw):
        with no_tables(monkeypatch):
            return cli(*args, **kw)
    return run


_SUPPRESSED: dict = {}  # a table's suppression, by its arguments (see suppressed_once)


@pytest.fixture(autouse=True)
def suppressed_once(monkeypatch):
    """`disclosure.suppress` remembered by its arguments. It is a pure function (the same counts,
    threshold, width and forced cells give the same hidden cells) and the costliest step of
    `report statistics`, which these tests run with and without the tables on the same counts,
    step after step: each distinct table is still suppressed by the code, once a process, and
    every output compared is still made in full from it."""
    from cpcm.reports import disclosure

    real = disclosure.suppress

    def suppress(matrix, threshold, width=None, forced=()):
        key = (tuple(map(tuple, matrix)), threshold, width, frozenset(forced))
        if key not in _SUPPRESSED:
            _SUPPRESSED[key] = real(matrix, threshold, width, forced)
        grid, primary, secondary = _SUPPRESSED[key]
        return [list(row) for row in grid], set(primary), set(secondary)

    monkeypatch.setattr(disclosure, "suppress", suppress)


def outputs(cli: Cli, run_without, now: str = NOW) -> None:
    """Every form of `due` and `report statistics`, with the tables and without: the same."""
    env = {"CPCM_NOW": now}
    for args in DUE:
        kept, computed = cli("due", *args, env=env), run_without(cli, "due", *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), (now, args)
    for args in STATISTICS:
        kept, computed = cli("report", "statistics", *args, env=env), run_without(cli, "report", "statistics", *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), (now, args)


def settled(cli: Cli, reads: list[str], now: str = NOW) -> None:
    """After one run that fills the tables, the next reads no case: every answer is in them."""
    env = {"CPCM_NOW": now}
    cli("due", "--worker", "all", env=env)
    cli("report", "statistics", *STATISTICS[0], env=env)
    reads.clear()
    assert cli("due", "--worker", "all", env=env).code == 0
    assert cli("report", "statistics", *STATISTICS[0], env=env).code == 0
    assert reads == []


def assessed(cli: Cli, **registration) -> str:
    case_id = register(cli, **registration)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    return case_id


# -- end to end ------------------------------------------------------------------------------------
def test_due_and_statistics_are_the_same_with_the_tables_after_every_kind_of_write(cli, cli_as, sending, tmp_env, without_tables,
                                                                                     reads):
    from test_transfer import REASON, consent

    sup, otieno = cli_as("sup"), cli_as("otieno")
    first = register(cli)
    settled(cli, reads)
    outputs(cli, without_tables)
    # a child turning 18 within the policy's notice, and one turning 18 after it: the item appears as the notice opens
    near = register(cli, child={"name": "Near Eighteen", "sex": "male", "date_of_birth": "2008-12-10", "disability": "no"})
    later = register(otieno, child={"name": "Later Eighteen", "sex": "female", "date_of_birth": "2009-01-30"})
    reads.clear()
    assert cli("due", "--worker", "all").code == 0
    assert reads == [near]  # only her new case was read (she does not read otieno's): the first came from the table
    reads.clear()
    assert sup("due", "--worker", "all").code == 0
    assert sorted(reads) == sorted([first, near, later])  # the supervisor's own table was empty
    reads.clear()
    assert sup("due", "--worker", "all").code == 0 and reads == []
    outputs(cli, without_tables)
    settled(cli, reads)

    steps = [
        lambda: cli("assess", first, "--type", "initial", "--risk", "high", *INITIAL),
        lambda: cli("assess", first, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)),
        lambda: cli("plan", first, "--from-file", "-", input=json.dumps(plan_doc())),          # waits for approval
        lambda: sup("approve", first, "plan"),
        lambda: visit(cli, first),                                                           # a follow-up
        lambda: cli("review", first, "--from-file", "-", input=json.dumps(REVIEW)),
        lambda: cli("close", first, "--reason", "goals_met", *GOALS_MET, "--explain-open", "none"),  # a closure request
        lambda: sup("approve", first, "closure"),                                            # closed: a post-closure visit
        lambda: sup("assign", near, "--worker", "otieno"),                                     # re-encrypted
        lambda: consent(otieno, near) or otieno("transfer", near, *REASON, "--check", "all"),   # a transfer request
        lambda: sup("approve", near, "transfer"),
        lambda: otieno("transfer", near, *REASON, "--check", "all", "--out", str(tmp_env / "near.age")),  # sent: closed here
    ]
    for step in steps:
        done = step()
        assert done.code == 0, done.stderr
        outputs(cli, without_tables)
        outputs(sup, without_tables)
        settled(cli, reads)
    for now in LATER:  # the clock passes the initial assessment's target and deadline, the turning-18 notices, the visit's
        outputs(cli, without_tables, now)
        outputs(sup, without_tables, now)


def test_a_case_changed_on_disk_is_listed_as_committed_and_check_reports_it(cli, repo, without_tables, reads):
    """`due` and `report statistics` describe the last commit (service/views.py, dueview.py;
    docs/security.md): a record damaged on disk since changes neither, with their tables or made
    from every case without them (which read the case from its files, left it out and exited
    with 1); `check` and `show` report it."""
    case_id = register(cli)
    settled(cli, reads)
    commands = [("due", *args) for args in DUE] + [("report", "statistics", *args) for args in STATISTICS]
    committed = {args: cli(*args) for args in commands}
    record = sorted(case_dir(repo, case_id).glob("*.age"))[0]
    record.write_bytes(b"damaged")
    for args in commands:
        now = cli(*args)
        assert (now.code, now.stdout, now.stderr) == (0, committed[args].stdout, committed[args].stderr), args
    for args in commands:  # from every case where nothing is kept: the last commit too
        computed = without_tables(cli, *args)
        assert (computed.code, computed.stdout, computed.stderr) == (0, committed[args].stdout, committed[args].stderr), args
    for args in (("check",), ("show", case_id)):
        found = cli(*args)
        assert found.code != 0 and record.name in found.stderr, args


def test_a_policy_change_recomputes_every_case(cli, repo, without_tables, reads):
    case_id = register(cli)
    settled(cli, reads)
    before = {i["code"]: i["due"] for i in cli("due", "--json", "--within", "60").json() if i["case_id"] == case_id}
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  initial_assessment:\n    limit: 96h\n    target: 48h\n")
    outputs(cli, without_tables)
    after = {i["code"]: i["due"] for i in cli("due", "--json", "--within", "60").json() if i["case_id"] == case_id}
    assert after["initial-assessment"] != before["initial-assessment"]
    assert after["comprehensive-assessment"] == before["comprehensive-assessment"]
    settled(cli, reads)


def test_a_time_zone_or_a_fixed_offset_of_now_keeps_its_own_table(cli, without_tables, reads):
    register(cli, child={"name": "Near Eighteen", "sex": "male", "date_of_birth": "2008-12-10", "disability": "no"})
    for now in ("2026-11-23T06:00:00+00:00", "2026-11-23T09:00:00+03:00", "2026-11-24T23:30:00-05:00"):
        outputs(cli, without_tables, now)


def test_sync_brings_cases_the_tables_then_hold(laptops, without_tables, reads):
    from test_sync import VISIT

    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    case_id = register(amina)
    theirs = register(sup, "--worker", "otieno")
    settled(sup, reads)
    assert amina("followup", case_id, *VISIT).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    reads.clear()
    assert sup("due", "--worker", "all").code == 0
    assert theirs not in reads  # unchanged by the sync: from the table (what arrived may come from the summaries the sync made)
    outputs(sup, without_tables)
    settled(sup, reads)


def test_a_reunified_case_the_review_interval_changes_as_the_period_after_reunification_ends(kenya, without_tables, reads):
    from conftest import reunified

    reunified(kenya)
    amina, sup = kenya("amina"), kenya("sup")
    for now in (NOW, "2027-06-01T09:00:00+03:00", "2028-11-01T09:00:00+03:00", "2029-01-01T09:00:00+03:00"):
        outputs(amina, without_tables, now)
        outputs(sup, without_tables, now)


def test_no_plaintext_in_any_cache_file(cli, repo, reads):
    marker = CANARY.split()[0].lower().encode()
    case_id = assessed(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
                       location=f"{CANARY} village", caregiver={"name": f"{CANARY} senior", "relationship": "grandmother"})
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    settled(cli, reads)
    cache = repo / ".cpcm" / "cache"
    made = {p.parent.name for p in cache.rglob("*.age")}
    assert {"due", "statistics"} <= made
    for path in cache.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert marker not in data.lower() and case_id.encode() not in data and b"initial" not in data, path


# -- the pure part: over which times an answer holds -------------------------------------------------
ZONE = ZoneInfo("Africa/Nairobi")
T = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_intervals__each_comparison_bounds_the_answer_exactly(op):
    mark = T + timedelta(hours=5)

    def answer(now):
        return {"<": now < mark, "<=": now <= mark, ">": now > mark, ">=": now >= mark, "==": now == mark,
                "!=": now != mark}[op]
    tick = timedelta(microseconds=1)
    for now in (T, mark - tick, mark, mark + tick, T + timedelta(days=3)):
        piece = intervals.run(answer, now)
        assert piece is not None and piece.holds(now.astimezone(timezone.utc)) and piece.answer == answer(now)
        for other in (T, mark - tick, mark, mark + tick, T + timedelta(days=3)):
            if piece.holds(other.astimezone(timezone.utc)):
                assert answer(other) == piece.answer, (op, now, other)


def test_intervals__the_pieces_around_now_each_hold_their_answer():
    opens, closes = T + timedelta(days=10), T + timedelta(days=40)

    def answer(now):
        return ("before" if now < opens else "open" if now <= closes else "after", now.tzinfo is ZONE)
    found = intervals.pieces(answer, T)
    assert [p.answer[0] for p in found] == ["before", "open", "after"] and all(p.answer[1] for p in found)
    for hours in range(0, 24 * 60, 7):
        now = T + timedelta(hours=hours)
        holding = [p for p in found if p.holds(now)]
        assert holding and all(p.answer == answer(now) for p in holding)
    assert intervals.pieces(answer, T, reach=timedelta(days=5))[-1].hi == opens  # a change beyond `reach` is left for later


@pytest.mark.parametrize("use", [lambda now: now.date(), lambda now: now + timedelta(days=1), lambda now: now.isoformat(),
                                 lambda now: f"{now}", lambda now: {now: 1}, lambda now: now.replace(hour=1),
                                 lambda now: T - now, lambda now: now.astimezone(timezone.utc) < T])
def test_intervals__any_other_use_of_now_is_not_followed(use):
    assert intervals.run(use, T) is None and intervals.pieces(use, T) is None


def test_intervals__the_deadlines_of_a_case_over_time_are_those_computed_at_each_time():
    from cpcm.domain.case import Case
    from cpcm.store import policies
    from cpcm.workflow import deadlines

    policy = policies.load("inter-agency", None)
    case = Case(id="CP-TEST-0001", worker="amina", registered_at="2026-11-20T06:00:00+00:00", risk="high",
                child={"date_of_birth": "2009-01-15"}, events={"registration": ("2026-11-20T06:00:00+00:00",)})
    found = intervals.pieces(lambda now: deadlines.deadlines(case, policy, now), T)
    assert len(found) >= 2  # the turning-18 notice opens within the year
    for days in range(0, 200, 3):
        now = T + timedelta(days=days, hours=days % 7)
        holding = next(p for p in found if p.holds(now)) if any(p.holds(now) for p in found) else None
        if holding is not None:
            assert holding.answer == deadlines.deadlines(case, policy, now)
