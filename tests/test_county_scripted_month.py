"""A county office's month of scripted work, as its script does it with only the README, docs/ and
the CLI contract: each morning `cpcm due --json --worker all` parsed with `json`, the reviews due
picked and given to `cpcm review --batch FILE` (a CSV file, checked with --dry-run first), a batch
with a bad row, the weekly caseload and the month's reports (--json and rendered), lists filtered
by worker and stage, output piped (plain, no colour or box characters), the clock stepped day by
day with CPCM_NOW. What the walk checked and found holding, kept as it held: each --json output
parses and has the keys the docs give; exit codes are those of docs/exit-codes.md; errors go to
stderr (and, with --json, as JSON to stdout) naming the row and field; a bad batch writes nothing;
no child's name in any message or commit. The tests share one repository and run in order: those
after the first read the month it walked."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from conftest import Cli, git, make_repo, private_env, registration
from test_assess_plan import COMPREHENSIVE, INITIAL_DATA, plan_doc

CANARY = "Zawadi Canarykid"
START = "2026-08-03T09:00:00+03:00"  # the office's first registration; the repository is made then
DUE_KEYS = {"case_id", "code", "title", "due", "target", "state", "owner", "rule", "why", "source", "risk"}
DUE_OPTIONAL = {"covered_by", "worker_removed", "nobody_may_decide"}
STATES = {"overdue", "target_missed", "due_soon", "upcoming"}
BATCH_KEYS = {"reviewed", "checked", "dry_run", "warnings", "records", "next_steps"}
ERROR_KEYS = {"error", "message", "exit_code"}
TERMINAL_ONLY = re.compile(r"\x1b\[|[┏┃━│└┡╇]")  # colour codes and rich's box characters
HEADING = ["case", "chair", "attended.child", "attended.family", "plan_still_right", "decisions", "outcome"]
WORKERS = ("amina", "otieno")
# the office's 36 cases, registered two a day from START: how far each has come by November
STEPS = ["approved"] * 24 + ["plan waits"] * 3 + ["comprehensive"] * 3 + ["initial"] * 3 + ["registered"] * 3


class Office:
    def __init__(self, root: Path, keys: dict):
        self.root, self.keys = root, keys
        self.cases: dict[str, tuple[str, str]] = {}  # case ID -> (worker, how far it came)

    def cli(self, worker: str = "sup", now: str = START) -> Cli:
        return Cli({"CPCM_REPO": str(self.root), "CPCM_IDENTITY": str(self.keys[worker][0]), "CPCM_NOW": now})

    def at(self, worker: str, when: datetime):
        from cpcm import service

        return service.open_repo(self.root, self.keys[worker][0], now=when)


@pytest.fixture(scope="module")
def office(tmp_path_factory, repo_template) -> Office:
    """The county office's repository: sup (supervisor), amina and otieno (caseworkers), 36 cases
    registered in August and taken as far as STEPS says, through the library (a CLI run per step
    would take a minute); the first child is the canary."""
    from cpcm import service

    base = tmp_path_factory.mktemp("county")
    with private_env(base):
        keys = repo_template.copy_keys(base / "keys")
        office = Office(make_repo(base / "casefiles", keys, agency="KSM-CO", name="Kisumu County Office", now=START), keys)
        start = datetime.fromisoformat(START)
        for number, step in enumerate(STEPS):
            worker, at = WORKERS[number % 2], start + timedelta(days=number // 2, hours=number % 5)
            risk = ("high", "medium", "low")[number % 3]
            child = {"name": CANARY if number == 0 else f"Child Number{number}", "sex": ("female", "male")[number % 2],
                     "date_of_birth": f"201{number % 9}-0{1 + number % 9}-1{number % 9}", "disability": "no"}
            case_id = service.register(office.at(worker, at), registration(risk=risk, child=child), at=at).subject_id
            office.cases[case_id] = (worker, step)
            done = [("initial", timedelta(hours=20)), ("comprehensive", timedelta(days=3)), ("plan", timedelta(days=6)),
                    ("approve", timedelta(days=7))]
            upto = {"registered": 0, "initial": 1, "comprehensive": 2, "plan waits": 3, "approved": 4}[step]
            for what, later in done[:upto]:
                when = at + later
                if what == "initial":
                    service.assess(office.at(worker, when), case_id, "initial", dict(INITIAL_DATA, risk=risk), at=when)
                elif what == "comprehensive":
                    service.assess(office.at(worker, when), case_id, "comprehensive", COMPREHENSIVE, at=when)
                elif what == "plan":
                    service.plan(office.at(worker, when), case_id, plan_doc(), at=when)
                else:
                    service.approve(office.at("sup", when), case_id, "plan", at=when)
        yield office


def morning(day: date) -> str:
    return f"{day.isoformat()}T08:00:00+03:00"


def clean(result, *, code: int) -> None:
    """What every run of the walk showed: the exit code expected, no traceback, no name, nothing
    meant for a terminal (the output is not one)."""
    assert result.code == code, (result.code, result.stdout[-2000:], result.stderr[-2000:])
    for text in (result.stdout, result.stderr):
        assert CANARY not in text and "Canarykid" not in text
        assert "Traceback" not in text and not TERMINAL_ONLY.search(text)


def json_error(result, code: int) -> dict:
    """An error with --json: the message on stderr (`error:` first), the error as JSON on stdout."""
    clean(result, code=code)
    assert result.stderr.startswith(("error: ", "usage error: ")), result.stderr
    error = result.json()
    assert ERROR_KEYS <= set(error) and error["exit_code"] == code, error
    return error


def batch_file(folder: Path, name: str, rows: list[dict]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADING, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = folder / name
    path.write_text(out.getvalue())
    return path


def review_row(case_id: str, **changes) -> dict:
    row = {"case": case_id, "chair": "sup", "attended.child": "yes", "attended.family": "yes", "plan_still_right": "yes",
           "decisions": "keep the plan;visit the school", "outcome": "continue"}
    row.update(changes)
    return row


def head(office: Office) -> str:
    return git(office.root, "rev-parse", "HEAD").strip()


def commits(office: Office) -> int:
    return int(git(office.root, "rev-list", "--count", "HEAD"))


@pytest.fixture(scope="module")
def month(office, tmp_path_factory) -> dict[str, str]:
    """The month walked once on the office's repository (the tests after it read what it did): a fixture,
    not a test, so that a test that reads the month has it whichever test process runs it."""
    return _walk_month(office, tmp_path_factory.mktemp("batches"))


def test_a_month_of_mornings__due_json_batch_reviews_and_a_bad_batch_that_writes_nothing(office, month):
    assert set(month) == {case_id for case_id, (_, step) in office.cases.items() if step == "approved"}
    # after the month no review is due or overdue: each case's next is three months on
    december = office.cli("sup", morning(date(2026, 12, 1)))("due", "--json", "--worker", "all", "--within", "30")
    clean(december, code=0)
    assert not [item for item in december.json() if item["code"] == "review"]
    log = git(office.root, "log", "--format=%s%n%b")
    assert "Canarykid" not in log
    verified = office.cli("sup", morning(date(2026, 12, 1)))("verify", "--json")
    clean(verified, code=0)
    assert verified.json() == []


def _walk_month(office: Office, tmp_path: Path) -> dict[str, str]:
    """Each morning of November: `due --json`, the reviews due within two days as a CSV batch (a dry run,
    then the batch), the first day's batch with a bad row first (refused whole, nothing written).
    Returns case ID -> the day reviewed."""
    reviewed: dict[str, str] = {}  # case ID -> the day reviewed
    bad_batch_seen = False
    day = date(2026, 11, 2)
    while day <= date(2026, 11, 30):
        now = morning(day)
        sup = office.cli("sup", now)
        due = sup("due", "--json", "--worker", "all")
        clean(due, code=0)
        items = due.json()
        assert isinstance(items, list) and items
        for item in items:
            assert DUE_KEYS <= set(item) <= DUE_KEYS | DUE_OPTIONAL, item
            assert item["state"] in STATES and item["case_id"] in office.cases, item
            assert datetime.fromisoformat(item["due"]).utcoffset() == timedelta(hours=3), item
            assert item["target"] is None or datetime.fromisoformat(item["target"]) <= datetime.fromisoformat(item["due"])
        # the script's pick: the reviews whose limit is within two days
        todo = list(dict.fromkeys(item["case_id"] for item in items if item["code"] == "review"
                                  and item["due"][:10] <= (day + timedelta(days=2)).isoformat()))
        assert not set(todo) & set(reviewed), "a case reviewed this month is due again within it"
        if not todo:
            day += timedelta(days=1)
            continue
        for case_id in todo:
            assert office.cases[case_id][1] == "approved"
        rows = [review_row(case_id) for case_id in todo]
        if not bad_batch_seen:
            bad_batch_seen = True
            # one bad row: a case registered only (no plan: no review yet), its cells holding a name
            registered = sup("list", "--json", "--stage", "registered")
            clean(registered, code=0)
            not_yet = registered.json()[0]["case_id"]
            bad = batch_file(tmp_path, f"bad-{day}.csv", rows + [review_row(not_yet, decisions=CANARY, chair=CANARY)])
            before, status = head(office), git(office.root, "status", "--porcelain")
            for extra in ((), ("--dry-run",)):
                refused = sup("review", "--batch", str(bad), "--json", *extra)
                error = json_error(refused, 4)
                assert error["rule"] == "transition-not-allowed"  # the row's own rule, as for one case
                assert error["fields"] == [{"field": f"row {len(rows) + 2}: case",
                                            "reason": f"{not_yet} is at stage 'registered': 'review' is not allowed there",
                                            "rule": "transition-not-allowed", "exit_code": 4}]
                assert "nothing was written" in refused.stderr
            assert head(office) == before and git(office.root, "status", "--porcelain") == status
            # every bad row is reported: the family absent with no reason, an outcome not on the list
            two = batch_file(tmp_path, f"two-{day}.csv", [review_row(todo[0], **{"attended.family": "no"}),
                                                          review_row(todo[-1], outcome=CANARY)])
            refused = sup("review", "--batch", str(two))
            clean(refused, code=4)
            assert refused.stdout == "" and refused.stderr.startswith("error: the batch (2 rows) is not valid (2 problems):")
            assert "  - row 2: absent_reason: " in refused.stderr and "  - row 3: outcome: is not one of: " in refused.stderr
            assert head(office) == before
        path = batch_file(tmp_path, f"reviews-{day}.csv", rows)
        before = commits(office)
        dry = sup("review", "--batch", str(path), "--dry-run", "--json")
        clean(dry, code=0)
        assert set(dry.json()) == BATCH_KEYS and commits(office) == before
        assert (dry.json()["reviewed"], dry.json()["checked"], dry.json()["dry_run"]) == (0, len(todo), True)
        assert dry.json()["records"] == [{"case_id": case_id} for case_id in todo]
        done = sup("review", "--batch", str(path), "--json")
        clean(done, code=0)
        written = done.json()
        assert set(written) == BATCH_KEYS and (written["reviewed"], written["dry_run"], written["warnings"]) == (len(todo), False, [])
        assert [r["case_id"] for r in written["records"]] == todo and all(r["record_id"] for r in written["records"])
        assert commits(office) == before + 1
        assert git(office.root, "log", "-1", "--format=%s").strip() == f"review batch {len(todo)} cases"
        reviewed.update(dict.fromkeys(todo, day.isoformat()))
        day += timedelta(days=1)
    assert bad_batch_seen
    return reviewed


def test_lists_and_due_by_worker_and_stage__filter_as_documented(office, month):
    sup = office.cli("sup", morning(date(2026, 12, 1)))
    for worker in WORKERS:
        listed = sup("list", "--worker", worker, "--stage", "implementation", "--json")
        clean(listed, code=0)
        mine = [case_id for case_id, (who, step) in office.cases.items() if who == worker and step == "approved"]
        assert sorted(c["case_id"] for c in listed.json()) == sorted(mine)
        assert {(c["worker"], c["stage"], c["status"]) for c in listed.json()} == {(worker, "implementation", "open")}
        due = sup("due", "--json", "--worker", worker, "--overdue")
        clean(due, code=0)
        assert due.json() and {item["owner"] for item in due.json()} == {worker}
        assert {item["state"] for item in due.json()} == {"overdue"}
    waits = sup("due", "--json")  # the supervisor's own list: the plans waiting for a decision
    clean(waits, code=0)
    assert {(item["code"], item["owner"]) for item in waits.json()} == {("plan-approval", "supervisors")}
    assert len(waits.json()) == STEPS.count("plan waits")
    # a typo is told from an empty list: a warning on stderr, exit 0
    typo = sup("list", "--worker", "amna", "--stage", "plannd")
    clean(typo, code=0)
    assert typo.stdout.splitlines() == ["case id\tstatus\tstage\trisk\tworker\tsex\tage\tregistered at"]
    assert "--worker amna is no worker of this team" in typo.stderr and "--stage plannd is not a stage" in typo.stderr
    # a caseworker's --worker all is their own cases
    amina = office.cli("amina", morning(date(2026, 12, 1)))("due", "--json", "--worker", "all")
    clean(amina, code=0)
    assert {item["owner"] for item in amina.json()} <= {"amina", "supervisors"}


def test_the_months_reports__json_and_rendered_agree_with_due_and_the_reviews(office, month, tmp_path):
    now = morning(date(2026, 12, 1))
    sup = office.cli("sup", now)
    period = ("--from", "2026-11-01", "--to", "2026-11-30")
    approved = STEPS.count("approved")
    caseload = sup("report", "caseload", "--json")
    clean(caseload, code=0)
    view = caseload.json()
    assert view["totals"]["open"] == len(STEPS) and view["totals"]["approvals_waiting"] == STEPS.count("plan waits")
    overdue = sup("due", "--json", "--worker", "all", "--overdue")
    clean(overdue, code=0)
    for row in view["workers"]:
        if row["worker"] in WORKERS:
            assert row["overdue_total"] == sum(1 for item in overdue.json() if item["owner"] == row["worker"]), row
    statistics = sup("report", "statistics", *period, "--json")
    clean(statistics, code=0)
    totals = {section["measure"]: section["total"] for section in statistics.json()["sections"]}
    assert totals["reviews"] == totals["reviews_with_child"] == approved and totals["registrations"] == 0
    timeliness = sup("report", "timeliness", *period, "--json")
    clean(timeliness, code=0)
    assert timeliness.json()["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    (review,) = [clock for clock in timeliness.json()["clocks"] if clock["clock"] == "review"]
    assert review["started"] == approved  # each review of the month starts the next three months
    # rendered, piped: a `# title` heading and tab-separated rows, nothing meant for a terminal
    for kind, args, title in (("caseload", (), "# Caseload: as of 2026-12-01 08:00 +03:00"),
                              ("timeliness", period, "# Timeliness: 2026-11-01 to 2026-11-30"),
                              ("statistics", period, "# Case statistics: 2026-11-01 to 2026-11-30")):
        shown = sup("report", kind, *args)
        clean(shown, code=0)
        lines = shown.stdout.splitlines()
        assert lines[:2] == [title, "# Kisumu County Office (KSM-CO); All 36 cases of the repository"], lines[:2]
        assert any("\t" in line for line in lines)
        as_csv = sup("report", kind, *args, "--format", "csv")
        clean(as_csv, code=0)
        assert as_csv.stdout.splitlines()[0] == "report,table,row,column,value"
    # the statistics as a file to share; the caseload names workers: encrypted unless --plaintext
    shared = sup("report", "statistics", *period, "--out", str(tmp_path / "nov.html"), "--json")
    clean(shared, code=0)
    assert shared.json() == {"report": "statistics", "format": "html", "out": str(tmp_path / "nov.html"), "encrypted": False,
                             "period_over": True}
    assert "<html" in (tmp_path / "nov.html").read_text().lower()
    kept = sup("report", "caseload", "--out", str(tmp_path / "caseload.html"), "--json")
    json_error(kept, 2)
    assert not (tmp_path / "caseload.html").exists()
    inside = sup("report", "statistics", *period, "--out", str(office.root / "nov.html"), "--json")
    assert json_error(inside, 4)["rule"] == "plaintext-in-repository"


def test_a_caseworkers_weekly_caseload__their_own_row_not_a_colleague_with_none(office, month):
    """amina reads her 18 cases, not otieno's 18: her caseload listed otieno with 0 open cases,
    which a reader took for a colleague with none. Her report is her own row, and says why."""
    amina = office.cli("amina", morning(date(2026, 12, 1)))
    mine = amina("report", "caseload", "--json")
    clean(mine, code=0)
    everyone = {row["worker"]: row for row in office.cli("sup", morning(date(2026, 12, 1)))("report", "caseload", "--json").json()["workers"]}
    assert everyone["otieno"]["open"] == len(STEPS) // 2
    assert mine.json()["workers"] == [everyone["amina"]] and mine.json()["workers_shown"] == "yours"
    shown = amina("report", "caseload")
    clean(shown, code=0)
    assert "otieno" not in shown.stdout and "Only your own row" in shown.stderr
    assert shown.stdout.splitlines()[1] == "# Kisumu County Office (KSM-CO); The 18 cases you can read, of 36 in the repository"


def test_a_return_made_mid_month__the_office_is_told_the_period_has_not_ended(office, month, tmp_path):
    from conftest import make_identity

    county = make_identity(tmp_path / "county.txt")
    made = office.cli("sup", morning(date(2026, 11, 16)))("report", "statistics", "--from", "2026-11-01", "--to", "2026-11-30",
                                                          "--for-aggregation", "--recipient", county,
                                                          "--out", str(tmp_path / "half.return.age"), "--json")
    clean(made, code=0)
    assert made.json()["period_over"] is False
    assert "warning: the period has not ended (it ends 2026-11-30; today is 2026-11-16)" in made.stderr


def test_the_months_return_to_the_county__made_at_the_office_combined_at_the_county(office, month, tmp_path):
    """The office's statistics return for November, with another agency's, combined with the county's
    own key (no casefile repository): the reviews of the month counted once each."""
    from conftest import make_identity

    county_key = tmp_path / "county.txt"
    county = make_identity(county_key)
    period = ("--from", "2026-11-01", "--to", "2026-11-30")
    now = morning(date(2026, 12, 1))
    made = office.cli("sup", now)("report", "statistics", *period, "--for-aggregation", "--recipient", county,
                                  "--out", str(tmp_path / "ksm.return.age"), "--json")
    clean(made, code=0)
    assert made.json() == {"report": "statistics", "for_aggregation": True, "from": "2026-11-01", "to": "2026-11-30",
                           "out": str(tmp_path / "ksm.return.age"), "encrypted": True, "period_over": True}
    other_key = tmp_path / "nbi.txt"
    make_identity(other_key)
    other = Cli({"CPCM_REPO": str(tmp_path / "nbi"), "CPCM_IDENTITY": str(other_key), "CPCM_NOW": now})
    clean(other("init", "--agency", "NBI", "--name", "Nairobi Office", "--worker", "w", "--role", "supervisor"), code=0)
    clean(other("report", "statistics", *period, "--for-aggregation", "--recipient", county,
                "--out", str(tmp_path / "nbi.return.age")), code=0)
    at_county = Cli({"CPCM_IDENTITY": str(county_key), "CPCM_NOW": now})
    combined = at_county("report", "combine", str(tmp_path / "ksm.return.age"), str(tmp_path / "nbi.return.age"), "--json")
    clean(combined, code=0)
    totals = {section["measure"]: section["total"] for section in combined.json()["sections"]}
    assert totals["reviews"] == STEPS.count("approved") and combined.json()["meta"]["agency"]["code"] == "KSM-CO+NBI"
    twice = at_county("report", "combine", str(tmp_path / "ksm.return.age"), str(tmp_path / "ksm.return.age"), "--json")
    assert json_error(twice, 4)["fields"] == [{"field": "returns", "reason": "files 1 and 2 are both from agency KSM-CO: "
                                                                             "each agency's return is counted once"}]


def test_a_scripts_mistakes__exit_codes_and_messages_as_the_docs_give_them(office, month, tmp_path):
    sup = office.cli("sup", morning(date(2026, 12, 2)))
    assert json_error(sup("due", "--json", "--worker", "nobody"), 3)["error"] == "NotFound"
    assert json_error(sup("due", "--json", env={"CPCM_NOW": "yesterday"}), 2)["error"] == "UsageError"
    # a command line click refuses: the JSON message is the stderr line without its prefix, as for
    # every other error (it kept "usage error: " in the JSON, and only for these)
    typed = sup("due", "--json", "--within", CANARY)
    error = json_error(typed, 2)
    assert error["error"] == "UsageError" and "--within" in error["message"], error
    assert typed.stderr.startswith("usage error: " + error["message"] + "\n"), (typed.stderr, error)
    assert json_error(sup("report", "timeliness", "--from", "2026-11-30", "--to", "2026-11-01", "--json"), 2)
    assert json_error(sup("report", "statistics", "--from", "", "--json"), 2)
    missing = sup("review", "--batch", str(tmp_path / "none.csv"), "--json")
    assert json_error(missing, 2)["message"] == "cannot read --batch: No such file or directory"
    assert str(tmp_path) not in missing.stderr
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(";".join(HEADING) + "\n" + ";".join(review_row(next(iter(office.cases))).values()) + "\n")
    json_error(sup("review", "--batch", str(semicolons), "--json"), 2)
    # a name typed in the case column, a heading that is no field: named by row and column, never echoed
    case_id = next(iter(office.cases))
    named = batch_file(tmp_path, "named.csv", [review_row(CANARY), review_row(case_id)])
    before = head(office)
    refused = sup("review", "--batch", str(named), "--json")
    assert json_error(refused, 4)["fields"] == [{"field": "row 2: case", "reason": "is missing or not a valid case ID"}]
    heading = tmp_path / "heading.csv"
    heading.write_text(",".join(HEADING + [CANARY]) + "\n" + ",".join(review_row(case_id).values()) + ",x\n")
    assert [f["field"] for f in json_error(sup("review", "--batch", str(heading), "--json"), 4)["fields"]] == ["column 8"]
    # a caseworker's batch with another worker's case: that row, by the reader it needs
    amina = office.cli("amina", morning(date(2026, 12, 2)))
    others = next(c for c, (who, step) in office.cases.items() if who == "otieno" and step == "approved")
    mine = next(c for c, (who, step) in office.cases.items() if who == "amina" and step == "approved")
    mixed = batch_file(tmp_path, "mixed.csv", [review_row(mine), review_row(others)])
    fields = json_error(amina("review", "--batch", str(mixed), "--json"), 5)["fields"]  # not readable, as for one case
    assert fields == [{"field": "row 3: case", "reason": f"you (amina) are not a recipient of {others}", "exit_code": 5}]
    assert head(office) == before and git(office.root, "status", "--porcelain") == ""


def test_the_calendar_for_phones__written_once_outside_the_repository(office, month, tmp_path):
    """`due --ics`: the items as events, beside the --json list; an existing file kept; inside the
    repository refused (exit 4) with a hint that says what to do: the hint offered "or encrypt
    it", which no option of `due --ics` (nor `form print --out`, `import template --out-dir`) does."""
    sup = office.cli("sup", morning(date(2026, 12, 2)))
    ics = tmp_path / "due.ics"
    written = sup("due", "--worker", "all", "--ics", str(ics), "--json")
    clean(written, code=0)
    events = ics.read_text().count("BEGIN:VEVENT")
    assert events == len(written.json()) and f"{events} event(s) written to the --ics file" in written.stderr
    assert "Canarykid" not in ics.read_text()
    assert json_error(sup("due", "--worker", "all", "--ics", str(ics), "--json"), 2)["hint"] == \
        "Choose a new name, or add --force to replace it."
    inside = json_error(sup("due", "--worker", "all", "--ics", str(office.root / "due.ics"), "--json"), 4)
    assert inside["rule"] == "plaintext-in-repository" and "encrypt it" not in inside["hint"], inside
    assert inside["hint"].startswith("Write it somewhere else (--ics ~/FILE)") and not (office.root / "due.ics").exists()
    form = sup("form", "print", "registration", "--out", str(office.root / "form.html"))
    clean(form, code=4)
    assert "encrypt it" not in form.stderr and "Write it somewhere else (--out ~/FILE)" in form.stderr


def test_piped_through_a_real_process__plain_text_and_one_json_document(office, month):
    sup = office.cli("sup", morning(date(2026, 12, 2)))
    text = sup.process("due", "--worker", "all")
    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "state\tcase\twhat\tdue\twhen\tworker\twhy" and len(lines) > 1
    assert all(line.count("\t") == 6 for line in lines) and not TERMINAL_ONLY.search(text.stdout + text.stderr)
    as_json = sup.process("due", "--json", "--worker", "all")
    assert as_json.code == 0 and as_json.stderr == ""
    assert [item["case_id"] for item in json.loads(as_json.stdout)] == [line.split("\t")[1] for line in lines[1:]]


def test_nothing_of_a_child_in_plaintext__files_and_history(office, month):
    for path in office.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert b"Canarykid" not in path.read_bytes(), path
    assert "Canarykid" not in git(office.root, "log", "--all", "--format=%s%n%b")
