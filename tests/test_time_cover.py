"""Time as people live it, cover for a colleague, and consent as it happens.

- The agency's time zone (`timezone` in .cpcm/config.yaml): every time shown is local with its
  offset, a date-only deadline falls due at the end of that local day, a $CPCM_NOW or --at
  without an offset is read in the agency's zone, and a time earlier than the case's latest
  record is warned about.
- `cpcm assign CASE --cover WORKER --until DATE`: a colleague reads and writes the case until
  then, and is taken off it after (team sync, or the next write).
- `cpcm consent --by child --by caregiver`: both answers in one command, one record each.
"""
from __future__ import annotations

import json
import re

import pytest

from conftest import CANARY, Cli, commit_count, git, make_identity, register, signing_line
from test_conference import minutes_doc, new_conference, planned_case
from cpcm.store.layout import case_dir

NOW = "2026-11-23T09:00:00+03:00"
CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--cost", "free"]
CONSENT = ["--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "all"]


@pytest.fixture
def nairobi(tmp_env):
    """A casefile repository of an agency in Nairobi (UTC+03:00, made on a computer whose own
    zone may be anything): 'sup' (supervisor), 'amina', 'otieno' and 'baraka' (caseworkers).
    Returns a function: as_('amina', CPCM_NOW=...) -> Cli."""
    root = tmp_env / "casefiles"
    keys = {w: tmp_env / "keys" / f"{w}.txt" for w in ("sup", "amina", "otieno", "baraka")}
    public = {w: make_identity(path) for w, path in keys.items()}

    def as_(worker: str, **env) -> Cli:
        base = {"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys[worker]), "CPCM_NOW": NOW, "TZ": "UTC"}
        base.update(env)
        return Cli(base)

    sup = as_("sup")
    made = sup("init", "--agency", "NBO", "--name", "Nairobi Agency", "--worker", "sup", "--role", "supervisor",
               "--timezone", "Africa/Nairobi", "--json")
    assert made.code == 0, made.stderr
    assert made.json()["timezone"] == "Africa/Nairobi"
    for worker in ("amina", "otieno", "baraka"):
        assert sup("team", "add", worker, "--role", "caseworker", "--recipient", public[worker],
                   "--signing-key", signing_line(keys[worker])).code == 0
    as_.root = root
    as_.keys = keys
    return as_


def accepted_referral(cli, case_id: str, start: str = "2026-11-25", duration: str = "2w") -> None:
    assert cli(*CLINIC).code == 0
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    done = cli("referral", case_id, "R1", "--status", "accepted", "--start", start, "--expected-duration", duration)
    assert done.code == 0, done.stderr


# -- the agency's time zone ------------------------------------------------------------------------
def test_init__writes_the_time_zone_and_refuses_an_unknown_one_without_echoing_it(tmp_env, team):
    root = tmp_env / "casefiles"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    bad = sup("init", "--agency", "X", "--name", "X", "--worker", "sup", "--role", "supervisor", "--timezone", f"{CANARY}/Nowhere")
    assert bad.code == 4 and "timezone" in bad.stderr and "Zqxcanary" not in bad.stderr
    assert not (root / ".cpcm").exists()  # nothing was written
    ok = sup("init", "--agency", "X", "--name", "X", "--worker", "sup", "--role", "supervisor", "--timezone", "Africa/Kampala")
    assert ok.code == 0, ok.stderr
    assert "timezone: Africa/Kampala" in (root / ".cpcm" / "config.yaml").read_text()


def test_init__without_timezone_takes_the_systems(tmp_env, team):
    root = tmp_env / "casefiles"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW, "TZ": "Africa/Dar_es_Salaam"})
    assert sup("init", "--agency", "X", "--name", "X", "--worker", "sup", "--role", "supervisor").code == 0
    assert "timezone: Africa/Dar_es_Salaam" in (root / ".cpcm" / "config.yaml").read_text()


def test_a_repository_without_timezone_keeps_working(cli, repo):
    """Repositories made before the setting: the clock's own zone (here the offset of $CPCM_NOW)."""
    config = repo / ".cpcm" / "config.yaml"
    config.write_text("\n".join(line for line in config.read_text().splitlines() if not line.startswith("timezone")) + "\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "a configuration written before the setting",
        "--", ".cpcm/config.yaml")  # as such a copy has it
    case_id = register(cli)
    items = {i["code"]: i for i in cli("due", "--json").json() if i["case_id"] == case_id}
    assert items["initial-assessment"]["due"] == "2026-11-25T09:00+03:00"


def test_due__a_date_only_deadline_falls_due_at_the_end_of_the_local_day(nairobi):
    amina = nairobi("amina")
    case_id = register(amina)
    accepted_referral(amina, case_id, start="2026-11-25", duration="2w")
    later = nairobi("amina", CPCM_NOW="2026-12-09T18:00:00+03:00")
    items = {i["code"]: i for i in later("due", "--json").json() if i["case_id"] == case_id}
    outcome = items["referral-outcome"]
    assert outcome["due"] == "2026-12-09T23:59+03:00"  # not 03:00 (midnight UTC)
    assert outcome["state"] != "overdue"  # at 18:00 on the day it is not late yet
    text = later("due").stdout
    line = next(row for row in text.splitlines() if "outcome of referral R1" in row)
    assert "2026-12-09 23:59 +03:00" in line
    shown = later("show", case_id).stdout
    assert "2026-12-09 23:59 +03:00" in shown
    next_day = nairobi("amina", CPCM_NOW="2026-12-10T00:30:00+03:00")
    items = {i["code"]: i for i in next_day("due", "--json").json() if i["case_id"] == case_id}
    assert items["referral-outcome"]["state"] == "overdue"


def test_due__times_are_local_even_when_the_clock_is_given_in_utc(nairobi):
    amina = nairobi("amina", CPCM_NOW="2026-11-23T06:00:00Z")
    case_id = register(amina)
    items = {i["code"]: i for i in amina("due", "--json").json() if i["case_id"] == case_id}
    assert items["initial-assessment"]["due"] == "2026-11-25T09:00+03:00"
    assert "2026-11-25 09:00 +03:00" in amina("due").stdout
    log = amina("log", case_id).stdout
    assert "2026-11-23 09:00 +03:00" in log and "06:00" not in log


def test_check_and_show__a_problem_gives_its_due_time_local_with_its_offset(nairobi):
    amina = nairobi("amina", CPCM_NOW="2026-11-23T06:00:00Z")
    case_id = register(amina)
    later = nairobi("amina", CPCM_NOW="2026-12-01T06:00:00Z")  # the initial assessment and the target of the next are late
    checked = later("check", case_id)
    line = next(row for row in checked.stdout.splitlines() if "initial-assessment-overdue" in row)
    assert "was due 2026-11-25 09:00 +03:00:" in line, line
    missed = next(row for row in checked.stdout.splitlines() if "comprehensive-assessment-target-missed" in row)
    assert "the target (2026-11-30 09:00 +03:00) has passed; the limit is 2026-12-23 09:00 +03:00" in missed, missed
    problems = {p["code"]: p for p in later("show", case_id, "--json").json()["problems"]}
    assert "was due 2026-11-25 09:00 +03:00:" in problems["initial-assessment-overdue"]["message"]
    assert "was due 2026-11-25 09:00 +03:00:" in later("show", case_id).stdout


def test_cpcm_now_and_at_without_a_zone_are_read_in_the_agencys_zone(nairobi):
    amina = nairobi("amina", CPCM_NOW="2026-11-23T09:00:00")
    case_id = register(amina, "--at", "2026-11-22T08:00")
    shown = amina("show", case_id, "--json").json()
    assert shown["registered_at"] == "2026-11-22T08:00:00+03:00"
    noted = amina("note", case_id, "--text", "called", "--at", "2026-11-23T08:15", "--json")
    assert noted.code == 0, noted.stderr
    record = amina("show", case_id, noted.json()["record_id"], "--json").json()
    assert record["at"] == "2026-11-23T08:15:00+03:00" and record["recorded_at"] == "2026-11-23T09:00:00+03:00"
    dated = amina("note", case_id, "--text", "a date alone", "--at", "2026-11-23", "--json")
    assert amina("show", case_id, dated.json()["record_id"], "--json").json()["at"] == "2026-11-23T00:00:00+03:00"


def test_the_conference_report_gives_its_due_time_in_local_time(nairobi):
    amina = nairobi("amina")
    case_id = planned_case(amina, "Child One")
    sup = nairobi("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = nairobi("sup", CPCM_NOW="2026-11-30T11:00:00Z")  # 14:00 in Nairobi, after the meeting at 09:00 local
    for n in range(5):
        assert closer("conference", "attend", conf, "--institution", "Agency", "--name", f"Member {n}", "--position", "Officer",
                      "--contact", "0700", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    assert closer("conference", "close", conf).code == 0
    due = [i for i in closer("due", "--json").json() if i["code"] == "conference-report"]
    assert [i["due"] for i in due] == ["2026-12-01T09:00+03:00"]  # 24 hours from the meeting, in the agency's zone
    later = nairobi("sup", CPCM_NOW="2026-11-30T15:00:00+03:00")
    report = later("render", "conference-report", conf)  # the first rendering, while it is still due
    assert report.code == 0, report.stderr
    assert re.search(r"due by 1 December 2026 09:00 \+03:00", report.stdout), report.stdout[:2000]


def test_a_time_earlier_than_the_cases_latest_record_is_warned_and_written(nairobi):
    amina = nairobi("amina")
    case_id = register(amina, "--at", "2026-11-19T09:00")
    root = nairobi.root
    before = commit_count(root)
    back = nairobi("amina", CPCM_NOW="2026-11-22T09:00:00+03:00")
    result = back("note", case_id, "--text", "the clock went back")
    assert result.code == 0
    assert "warning:" in result.stderr and "earlier than the latest record" in result.stderr and "$CPCM_NOW" in result.stderr
    assert commit_count(root) == before + 1
    at = amina("note", case_id, "--text", "back-dated", "--at", "2026-11-20T10:00")
    assert at.code == 0 and "--at (2026-11-20 10:00 +03:00) is earlier than the latest record" in at.stderr
    fine = amina("note", case_id, "--text", "now")
    assert fine.code == 0 and "earlier" not in fine.stderr
    # within the same minute as the latest record: the seconds are shown, or the times would read alike
    latest = nairobi("amina", CPCM_NOW="2026-11-23T09:30:40+03:00")
    assert latest("note", case_id, "--text", "a call").code == 0
    close = nairobi("amina", CPCM_NOW="2026-11-23T09:30:05+03:00")("note", case_id, "--text", "in the same minute")
    assert close.code == 0 and "(2026-11-23 09:30:05 +03:00) is earlier than the latest record of" in close.stderr
    assert "(2026-11-23 09:30:40 +03:00)" in close.stderr


def test_a_step_dated_now_before_the_case_was_registered_is_written_saying_it_counts_for_no_clock(nairobi):
    """A clock behind the case's registration (a dead clock battery, or a registration from a laptop
    whose clock was ahead) dates the step before its cycle began, where it counts for no clock (the
    initial assessment still listed as due): the warning said only "check the date and time"; it says
    so, and what mends it (a supervisor's assignment or a note of such a case must still go). Once the
    registration's time is corrected, a step dated then counts."""
    from test_assess_plan import INITIAL

    amina = nairobi("amina")
    case_id = register(amina)  # 2026-11-23 09:00 +03:00
    back = nairobi("amina", CPCM_NOW="2026-11-22T09:00:00+03:00")
    result = back("note", case_id, "--text", "a call")
    assert result.code == 0, result.stderr
    assert ("it is before the case was registered (2026-11-23 09:00 +03:00), so this record counts for no clock") in result.stderr, \
        result.stderr
    assert f"cpcm correct {case_id} registration --at WHEN" in result.stderr, result.stderr
    # the registration's time corrected first: the step dated then counts, and stops its clock
    assert amina("correct", case_id, "registration", "--at", "2026-11-21T09:00", "--reason", "the clock was ahead").code == 0
    assessed = back("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--no-input")
    assert assessed.code == 0 and "counts for no clock" not in assessed.stderr, assessed.stderr
    assert "\tinitial assessment\t" not in amina("due").stdout


def _listed_dates(cli) -> dict[str, str]:
    """The registration date `cpcm list` prints (as a pipe gets it) for each case."""
    result = cli("list")
    assert result.code == 0, result.stderr
    return {cells[0]: cells[7] for cells in (line.split("\t") for line in result.stdout.splitlines()[1:])}


def test_list__registration_dates_and_json_times_are_in_the_agencys_zone(nairobi):
    """A registration typed in UTC late on 31 March is 1 April in Nairobi: `list` prints that
    day (as `show`, the export and the statistics count it), and `list --json` gives every time
    with the agency's offset, the cases in the order they were registered."""
    amina = nairobi("amina")
    late = register(amina, "--at", "2026-03-31T22:30:00Z")  # 2026-04-01 01:30 in Nairobi
    early = register(amina, "--at", "2026-04-01T01:00:00+03:00")  # half an hour before it
    assert amina("note", late, "--text", "called", "--at", "2026-04-02T21:15:00Z").code == 0
    for _ in range(2):  # the list made, then read from the cache
        assert _listed_dates(amina) == {late: "2026-04-01", early: "2026-04-01"}
        listed = amina("list", "--json").json()
        assert [(r["case_id"], r["registered_at"], r["last_at"]) for r in listed] == [
            (early, "2026-04-01T01:00:00+03:00", "2026-04-01T01:00:00+03:00"),
            (late, "2026-04-01T01:30:00+03:00", "2026-04-03T00:15:00+03:00")]
    shown = amina("show", late, "--json").json()
    assert (shown["registered_at"], shown["last_at"]) == ("2026-04-01T01:30:00+03:00", "2026-04-03T00:15:00+03:00")
    assert "registered\t2026-04-01 01:30 +03:00" in amina("show", late).stdout


def test_list__another_time_zone_in_config_makes_the_cached_list_again(nairobi):
    """The rows `list` keeps hold local times: a supervisor's `config set timezone` (the case
    folders unchanged) gives them in the new zone at once."""
    amina = nairobi("amina")
    case_id = register(amina, "--at", "2026-03-31T22:30:00Z")
    assert _listed_dates(amina) == {case_id: "2026-04-01"}
    assert amina("list", "--json").json()[0]["registered_at"] == "2026-04-01T01:30:00+03:00"
    assert nairobi("sup")("config", "set", "timezone", "America/Sao_Paulo").code == 0
    assert _listed_dates(amina) == {case_id: "2026-03-31"}
    assert amina("list", "--json").json()[0]["registered_at"] == "2026-03-31T19:30:00-03:00"


def test_show_json__every_time_in_the_agency_zone_whatever_offset_it_was_typed_with(nairobi):
    """`show --json` gives each `at` (history, consents, covers) in the agency's zone with its
    offset, as `list --json` does: one offset across the document."""
    amina = nairobi("amina")
    case_id = register(amina, "--at", "2026-03-31T22:30:00Z")
    assert amina("note", case_id, "--text", "typed in UTC", "--at", "2026-04-02T05:00:00+00:00").code == 0
    assert amina("assign", case_id, "--cover", "baraka", "--until", "2026-11-30", "--at", "2026-04-03T06:00:00Z").code == 0
    shown = amina("show", case_id, "--json").json()
    assert [h["at"] for h in shown["history"]][:3] == ["2026-04-01T01:30:00+03:00", "2026-04-02T08:00:00+03:00",
                                                        "2026-04-03T09:00:00+03:00"], shown["history"]
    assert shown["covers"][0]["at"] == "2026-04-03T09:00:00+03:00", shown["covers"]
    assert shown["registered_at"] == "2026-04-01T01:30:00+03:00"
    # the record itself is shown as it was written
    assert amina("show", case_id, "last", "--json").json()["at"].endswith("+00:00")


def test_list__rows_kept_by_an_earlier_version_are_made_again(nairobi, monkeypatch):
    """The list's rows are kept in the cache under a key of the code that made them: rows an
    earlier version kept (its times as stored) are not read by this one."""
    from cpcm.service import listrow, views

    amina = nairobi("amina")
    case_id = register(amina, "--at", "2026-03-31T22:30:00Z")
    with monkeypatch.context() as earlier:
        earlier.setattr(listrow, "json_time", lambda value, zone: value)  # the row as it was: times as stored
        earlier.setattr(listrow, "row_code", lambda: "an earlier version")
        earlier.setattr(views, "_code_fingerprint", lambda: "an earlier version")
        assert amina("list", "--json").json()[0]["registered_at"] == "2026-03-31T22:30:00+00:00"
    assert _listed_dates(amina) == {case_id: "2026-04-01"}
    assert amina("list", "--json").json()[0]["registered_at"] == "2026-04-01T01:30:00+03:00"


# -- cover for a colleague -----------------------------------------------------------------------
def test_cover__the_colleague_writes_before_the_end_and_cannot_read_what_is_written_after(nairobi):
    root = nairobi.root
    amina, baraka = nairobi("amina"), nairobi("baraka")
    case_id = register(amina)
    assert baraka("note", case_id, "--text", "before cover").code == 5  # not a reader yet
    before = commit_count(root)
    covered = amina("assign", case_id, "--cover", "baraka", "--until", "2026-11-30", "--json")
    assert covered.code == 0, covered.stderr
    assert commit_count(root) == before + 1  # the cover record and the re-encryption: one commit
    assert git(root, "log", "-1", "--format=%s").strip() == f"assign {case_id} {covered.json()['record_id']}"
    assert covered.json()["until"] == "2026-11-30T23:59:59+03:00"
    recipients = (case_dir(root, case_id) / "recipients").read_text()
    assert "# cover: baraka until 2026-11-30T23:59:59+03:00" in recipients
    assert [line for line in recipients.splitlines() if not line.startswith("#")] == ["amina", "baraka", "sup"]
    shown = amina("show", case_id, "--json").json()
    assert shown["worker"] == "amina"  # the case stays with its worker
    assert [(c["worker"], c["in_force"]) for c in shown["covers"]] == [("baraka", True)]
    # before the end, the colleague reads and writes
    on_the_last_day = nairobi("baraka", CPCM_NOW="2026-11-30T23:00:00+03:00")
    wrote = on_the_last_day("note", case_id, "--text", "visited while amina is on leave", "--json")
    assert wrote.code == 0, wrote.stderr
    assert on_the_last_day("show", case_id, wrote.json()["record_id"], "--json").json()["by"] == "baraka"
    assert nairobi("sup")("verify").code == 0  # a cover is a known reader of the case
    # after the end: the next write to the case takes the colleague off it
    after = nairobi("amina", CPCM_NOW="2026-12-01T08:00:00+03:00")
    back = after("note", case_id, "--text", "back from leave", "--json")
    assert back.code == 0, back.stderr
    assert git(root, "log", "-1", "--format=%s").strip() == f"note {case_id} {back.json()['record_id']} (cover ended)"
    recipients = (case_dir(root, case_id) / "recipients").read_text()
    assert "baraka" not in recipients
    late = nairobi("baraka", CPCM_NOW="2026-12-01T09:00:00+03:00")
    assert late("show", case_id).code == 5
    from cpcm.crypto import identity
    from cpcm.store.casestore import CaseStore
    from cpcm.errors import CannotDecrypt

    store = CaseStore(root)
    path = next(p for p in store.record_files(case_id) if back.json()["record_id"] in p.name)
    with pytest.raises(CannotDecrypt):
        store.read_file(path, identity.load(nairobi.keys["baraka"], lambda: None).keys)
    assert nairobi("sup")("verify").code == 0  # the write that re-encrypted is a known re-encryption


def test_cover__team_sync_ends_it_when_no_one_writes(nairobi):
    root = nairobi.root
    amina = nairobi("amina")
    case_id = register(amina)
    assert amina("assign", case_id, "--cover", "baraka", "--until", "2026-11-24T12:00").code == 0
    assert nairobi("sup")("team", "sync", "--json").json()["reencrypted"] == 0  # still in force
    later = nairobi("sup", CPCM_NOW="2026-11-24T12:01:00+03:00")
    assert later("team", "sync", "--json").json()["reencrypted"] == 1
    assert git(root, "log", "-1", "--format=%s").strip() == "team sync 1 cases"
    assert "baraka" not in (case_dir(root, case_id) / "recipients").read_text()
    assert nairobi("baraka", CPCM_NOW="2026-11-24T12:01:00+03:00")("show", case_id).code == 5
    assert later("verify").code == 0


def test_cover__an_ended_cover_cannot_write_even_before_it_is_taken_off(nairobi):
    amina = nairobi("amina")
    case_id = register(amina)
    assert amina("assign", case_id, "--cover", "baraka", "--until", "2026-11-24").code == 0
    late = nairobi("baraka", CPCM_NOW="2026-11-25T08:00:00+03:00")
    refused = late("note", case_id, "--text", "too late")
    assert refused.code == 4 and "cover" in refused.stderr and "ended" in refused.stderr


def test_cover__refusals_name_the_field_and_write_nothing(nairobi):
    root = nairobi.root
    amina = nairobi("amina")
    case_id = register(amina)
    before = commit_count(root)
    for args, field in ((("--cover", "nobody", "--until", "2026-12-01"), "cover"),
                        (("--cover", "amina", "--until", "2026-12-01"), "cover"),
                        (("--cover", "sup", "--until", "2026-12-01"), "cover"),
                        (("--cover", "baraka", "--until", "2026-11-22"), "until"),
                        (("--cover", "baraka", "--until", f"{CANARY}"), "until")):
        result = amina("assign", case_id, *args)
        assert result.code == 4, (args, result.stderr)
        assert field in result.stderr and "Zqxcanary" not in result.stderr
    assert amina("assign", case_id, "--cover", "baraka").code == 2  # --until is needed
    assert amina("assign", case_id, "--worker", "otieno", "--cover", "baraka", "--until", "2026-12-01").code == 2
    assert nairobi("otieno")("assign", case_id, "--cover", "baraka", "--until", "2026-12-01").code == 5  # not a reader
    assert commit_count(root) == before


def test_cover__a_reassignment_keeps_the_cover(nairobi):
    root = nairobi.root
    amina, sup = nairobi("amina"), nairobi("sup")
    case_id = register(amina)
    assert amina("assign", case_id, "--cover", "baraka", "--until", "2026-12-01").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    lines = (case_dir(root, case_id) / "recipients").read_text().splitlines()
    assert [line for line in lines if not line.startswith("# worker")] == [
        "# cover: baraka until 2026-12-01T23:59:59+03:00", "otieno", "baraka", "sup"]
    assert sup("verify").code == 0


def test_due__the_covering_worker_sees_covered_cases_marked_as_covered(nairobi):
    amina, baraka, sup = nairobi("amina"), nairobi("baraka"), nairobi("sup")
    case_id = register(amina)
    assert not [i for i in baraka("due", "--json").json() if i["case_id"] == case_id]
    assert amina("assign", case_id, "--cover", "baraka", "--until", "2026-12-01").code == 0
    mine = [i for i in baraka("due", "--json").json() if i["case_id"] == case_id]
    assert {i["code"] for i in mine} >= {"initial-assessment"}
    assert all(i["owner"] == "amina" and i["covered_by"] == "baraka" for i in mine)
    assert "amina (covered by baraka)" in baraka("due").stdout
    assert [i["case_id"] for i in sup("due", "--worker", "baraka", "--json").json()] == [i["case_id"] for i in mine]
    theirs = [i for i in amina("due", "--json").json() if i["case_id"] == case_id]
    assert theirs and not any("covered_by" in i for i in theirs)  # still on the worker's own list
    after = nairobi("baraka", CPCM_NOW="2026-12-02T08:00:00+03:00")
    assert not [i for i in after("due", "--json").json() if i["case_id"] == case_id]


# -- consent as it happens ------------------------------------------------------------------------
def test_consent__child_and_caregiver_together_round_trip(nairobi):
    root = nairobi.root
    amina = nairobi("amina")
    case_id = register(amina)
    before = commit_count(root)
    result = amina("consent", case_id, "--purpose", "reintegration", "--by", "child", "--by", "caregiver", "--status", "given",
                   "--caregiver-name", "Grace Atieno", "--relationship", "grandmother", "--explained", "all",
                   "--until", "2026-12-31", "--json")
    assert result.code == 0, result.stderr
    assert commit_count(root) == before + 1
    data = result.json()
    child_id, caregiver_id = data["record_ids"]
    assert data["given_by"] == ["child", "caregiver"] and data["record_id"] == child_id
    assert git(root, "log", "-1", "--format=%s").strip() == f"consent {case_id} {child_id} {caregiver_id}"
    child = amina("show", case_id, child_id, "--json").json()
    caregiver = amina("show", case_id, caregiver_id, "--json").json()
    explained = {"information": True, "use": True, "sharing": True, "confidentiality_limits": True}
    assert child["kind"] == caregiver["kind"] == "consent"
    assert child["fields"] == {"purpose": "reintegration", "given_by": "child", "status": "given", "explained": explained,
                               "until": "2026-12-31"}
    assert caregiver["fields"] == {"purpose": "reintegration", "given_by": "caregiver", "status": "given",
                                   "caregiver_name": "Grace Atieno", "caregiver_relationship": "grandmother",
                                   "explained": explained, "until": "2026-12-31"}
    consents = amina("show", case_id, "--json").json()["consents"]
    assert [(c["purpose"], c["given_by"], c["state"]) for c in consents] == [("reintegration", "child", "valid"),
                                                                             ("reintegration", "caregiver", "valid")]


def test_consent__placement_with_one_answer_each_and_the_registered_caregiver_by_default(nairobi):
    amina = nairobi("amina")
    case_id = register(amina)
    result = amina("consent", case_id, "--purpose", "placement", "--by", "child", "--by", "caregiver", "--status", "given",
                   "--status", "refused", "--reason", "wants the child at home", "--explained", "all", "--json")
    assert result.code == 0, result.stderr
    assert any("override" in step for step in result.json()["next_steps"])
    caregiver = amina("show", case_id, result.json()["record_ids"][1], "--json").json()["fields"]
    assert caregiver["status"] == "refused"
    assert caregiver["caregiver_name"] == "Test Caregiver" and caregiver["caregiver_relationship"] == "grandmother"


def test_consent__joint_refusals_write_nothing(nairobi):
    root = nairobi.root
    amina = nairobi("amina")
    case_id = register(amina)
    before = commit_count(root)
    for args in ((["--by", "child", "--by", "child", "--status", "given"]),
                 (["--by", "child", "--by", "caregiver", "--status", "given", "--status", "given", "--status", "given"]),
                 (["--by", "child", "--caregiver-name", "X", "--status", "given"]),
                 (["--by", "child", "--by", "caregiver", "--status", "maybe"])):
        result = amina("consent", case_id, "--purpose", "placement", "--explained", "all", *args)
        assert result.code == 4, (args, result.stderr)
    bad = amina("consent", case_id, "--purpose", "adoption", "--by", "child", "--status", "given", "--explained", "all")
    assert bad.code == 4 and "purpose" in bad.stderr
    assert commit_count(root) == before


def test_consent__a_caregivers_name_with_the_childs_assent_alone_is_refused_by_the_form(nairobi):
    """The caregiver's name and relationship go on a caregiver's record only (the consent form's
    `only_if` rules): given with `--by child` alone, in a file, or by a correction of the child's record,
    they are refused, naming the fields, never the values."""
    amina = nairobi("amina")
    case_id = register(amina)
    flags = amina("consent", case_id, "--purpose", "placement", "--by", "child", "--status", "given", "--explained", "all",
                  "--caregiver-name", CANARY, "--relationship", f"{CANARY} aunt", "--no-input")
    assert flags.code == 4, flags.stderr
    assert "--caregiver-name (caregiver_name): goes with a caregiver's consent only (given_by: caregiver)" in flags.stderr
    assert "--relationship (caregiver_relationship): goes with a caregiver's consent only" in flags.stderr
    assert CANARY not in flags.stderr
    doc = {"purpose": "placement", "given_by": "child", "status": "given", "caregiver_relationship": "aunt",
           "explained": {"information": True, "use": True, "sharing": True, "confidentiality_limits": True}}
    filed = amina("consent", case_id, "--from-file", "-", "--no-input", input=json.dumps(doc))
    assert filed.code == 4 and "(caregiver_relationship): goes with a caregiver's consent only" in filed.stderr, filed.stderr
    doc.pop("caregiver_relationship")
    written = amina("consent", case_id, "--from-file", "-", "--no-input", "--json", input=json.dumps(doc))
    assert written.code == 0, written.stderr
    corrected = amina("correct", case_id, written.json()["record_id"], "--set", f"caregiver_name={CANARY}",
                      "--reason", "named the caregiver")
    assert corrected.code == 4 and "caregiver_name: goes with a caregiver's consent only" in corrected.stderr, corrected.stderr
    assert CANARY not in corrected.stderr


# -- the rules, pure ------------------------------------------------------------------------------
def test_dates__a_date_alone_is_due_at_the_end_of_that_local_day():
    from datetime import date, timezone
    from zoneinfo import ZoneInfo

    from cpcm.domain.dates import before_latest, due_at, end_of_day, local_day, local_text, parse_datetime

    nairobi = ZoneInfo("Africa/Nairobi")
    assert due_at("2026-02-20", nairobi).isoformat() == "2026-02-20T23:59:59+03:00"
    assert due_at("2026-02-20T10:00:00+00:00", nairobi).isoformat() == "2026-02-20T13:00:00+03:00"
    assert end_of_day(date(2026, 2, 20), timezone.utc).isoformat() == "2026-02-20T23:59:59+00:00"
    assert parse_datetime("2026-02-20T14:00", "at", nairobi).isoformat() == "2026-02-20T14:00:00+03:00"
    assert parse_datetime("2026-02-20", "at", nairobi).isoformat() == "2026-02-20T00:00:00+03:00"
    assert parse_datetime("2026-02-20T14:00", "at").isoformat() == "2026-02-20T14:00:00+00:00"  # no zone given: UTC
    assert local_text("2026-02-20T11:00:00+00:00", nairobi) == "2026-02-20 14:00 +03:00"
    assert local_text("", nairobi) == "" and local_text("not a time", nairobi) == "not a time"
    assert local_day("2026-10-24T21:00:00+00:00", nairobi) == "2026-10-25"  # midnight in Nairobi: its own day, not UTC's
    assert local_day("2026-10-25", nairobi) == "2026-10-25" and local_day(None, nairobi) == ""
    moment = parse_datetime("2026-02-20T14:00+03:00")
    assert before_latest(moment, ["2026-02-20T10:00+03:00", "2026-02-20T12:00:00+00:00"]) == "2026-02-20T12:00:00+00:00"
    assert before_latest(moment, ["2026-02-20T10:00+03:00", "2026-02-20T14:00:00+03:00"]) is None


def test_cover_rules__in_force_until_its_end_and_readers_in_order():
    from datetime import datetime

    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import cover

    team = Team(tuple(Worker(id=w, name=w, roles=(r,), recipient=f"age1{w}") for w, r in
                      (("sup", "supervisor"), ("amina", "caseworker"), ("baraka", "caseworker"), ("otieno", "caseworker"))))
    covers = {"baraka": "2026-03-01T23:59:59+03:00", "otieno": "2026-02-01T23:59:59+03:00"}
    now = datetime.fromisoformat("2026-02-15T09:00:00+03:00")
    assert cover.in_force(covers, now) == {"baraka": "2026-03-01T23:59:59+03:00"}
    assert cover.readers(team, "amina", covers, now) == ["amina", "baraka", "sup"]
    assert cover.readers(team, "amina", covers, datetime.fromisoformat("2026-03-02T00:00:00+03:00")) == ["amina", "sup"]
    assert cover.in_force({"baraka": "2026-03-01"}, datetime.fromisoformat("2026-03-01T23:00:00+03:00")) == {"baraka": "2026-03-01"}
    end = datetime.fromisoformat("2026-03-01T00:00:00+03:00")
    assert [f for f, _ in cover.problems(team, "amina", "amina", end, now)] == ["cover"]
    assert [f for f, _ in cover.problems(team, "amina", "sup", end, now)] == ["cover"]
    assert [f for f, _ in cover.problems(team, "amina", "nobody", now, now)] == ["cover", "until"]
    assert cover.problems(team, "amina", "baraka", end, now) == []


def test_assign_cover__over_the_memory_store_one_commit_and_the_readers():
    from dataclasses import replace

    from cpcm import service
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    mem.config = replace(mem.config, timezone="Africa/Nairobi")
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    written = service.assign_cover(amina, case_id, "otieno", "2026-11-30")
    assert mem.commits() == before + 1
    assert written.kind == "cover" and written.extra["until"] == "2026-11-30T23:59:59+03:00"
    assert mem.store.recipients(case_id) == ["amina", "otieno", "sup"]
    otieno = mem.as_("otieno", now="2026-11-30T22:00:00+03:00")
    service.note(otieno, case_id, "covering")
    assert [i.covered_by for i in service.due(otieno)] and all(i.covered_by == "otieno" for i in service.due(otieno))
    later = mem.as_("amina", now="2026-12-01T08:00:00+03:00")
    service.note(later, case_id, "back")
    assert mem.store.recipients(case_id) == ["amina", "sup"]
    assert mem.store.commits[-1].message.endswith("(cover ended)")


def test_cover__a_review_batch_after_the_end_takes_the_colleague_off_in_its_commit():
    from dataclasses import replace

    from cpcm import service
    from memory_repo import MemoryRepo
    from test_followup_close import REVIEW, planned_cases

    mem = MemoryRepo()
    mem.config = replace(mem.config, timezone="Africa/Nairobi")
    amina = mem.as_("amina")
    covered, other = planned_cases(amina, 2)
    service.assign_cover(amina, covered, "otieno", "2026-11-30")
    assert mem.store.recipients(covered) == ["amina", "otieno", "sup"]
    later = mem.as_("amina", now="2026-12-01T08:00:00+03:00")
    service.review_batch(later, [dict(REVIEW, case=covered), dict(REVIEW, case=other)])
    assert mem.store.recipients(covered) == ["amina", "sup"]
    assert mem.store.commits[-1].message == "review batch 2 cases (cover ended)"


def test_cover__writes_to_many_cases_end_an_ended_cover_and_verify_accepts_them(nairobi):
    from cpcm import clock, service
    from test_followup_close import REVIEW, planned_cases

    root = nairobi.root
    sup = service.open_repo(root, nairobi.keys["sup"], now=clock.parse_datetime("2026-11-24T09:00:00+03:00"))
    covered, other = planned_cases(sup, 2)  # written by the supervisor, who may approve their plans
    assert nairobi("sup", CPCM_NOW="2026-11-24T10:00:00+03:00")("assign", covered, "--cover", "baraka", "--until", "2026-11-30").code == 0
    later = service.open_repo(root, nairobi.keys["sup"], now=clock.parse_datetime("2026-12-01T08:00:00+03:00"))
    service.review_batch(later, [dict(REVIEW, case=covered), dict(REVIEW, case=other)])
    assert git(root, "log", "-1", "--format=%s").strip() == "review batch 2 cases (cover ended)"
    assert "baraka" not in (case_dir(root, covered) / "recipients").read_text()
    assert nairobi("baraka", CPCM_NOW="2026-12-01T09:00:00+03:00")("show", covered).code == 5
    verified = nairobi("sup", CPCM_NOW="2026-12-01T09:00:00+03:00")("verify")
    assert verified.code == 0, verified.stdout + verified.stderr
