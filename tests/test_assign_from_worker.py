"""`cpcm assign --from-worker OLD --worker NEW`: a supervisor hands every open case of a worker
who leaves to a colleague in one command and one commit (the batch assignment's), with the
checks of `assign` (NEW's caseload counted once over all of them, before anything is written);
OLD's closed cases stay as they are. After it: due, caseload, show and the conference's cases."""
from __future__ import annotations

import json

from conftest import NOW, git, git_status, head, library_session, register
from test_followup_close import GOALS_MET, planned, visit


def _closed(amina, cli_as) -> str:
    """A case of amina's closed (planned, visited, closure approved)."""
    case_id = planned(amina, cli_as)
    assert visit(amina, case_id).code == 0
    closing = amina("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "done by the family")
    assert closing.code == 0, closing.stderr
    assert cli_as("sup")("approve", case_id, "closure").code == 0
    return case_id


def _conference(sup, case_id: str) -> str:
    made = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room",
               "--notice-sent", NOW[:10], "--invitations-sent", NOW[:10], "--json")
    assert made.code == 0, made.stderr
    conference_id = made.json()["conference_id"]
    added = sup("conference", "add-case", conference_id, case_id, "--reason", "especially_difficult")
    assert added.code == 0, added.stderr
    return conference_id


def test_assign_from_worker__every_open_case_of_a_leaver_in_one_command_and_one_commit(cli_as, repo):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    closed = _closed(amina, cli_as)
    open_cases = sorted([register(amina), register(amina)])
    kept = register(otieno)  # otieno's own: counted in his caseload, not touched
    conference_id = _conference(sup, open_cases[0])
    assert sup("conference", "show", conference_id, "--json").json()["cases"][0]["worker"] == "amina"
    before = head(repo)

    done = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert done.code == 0, done.stderr
    said = done.json()
    assert said["assigned"] == 2 and said["checked"] == 2 and said["dry_run"] is False and said["from_worker"] == "amina"
    assert [(r["case_id"], r["worker"], r["previous"]) for r in said["records"]] == [(c, "otieno", "amina") for c in open_cases]
    assert all(r["record_id"] for r in said["records"])
    assert said["workers"] == [{"worker": "otieno", "cases": 2, "overdue": said["workers"][0]["overdue"],
                                "due_soon": said["workers"][0]["due_soon"]}]
    assert said["left"] == [{"case_id": closed, "status": "closed"}]
    assert any(closed in step and "stay as they are" in step for step in said["next_steps"])
    # one commit, the batch assignment's message (the audit contract), that verify accepts
    assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert git(repo, "log", "-1", "--format=%s").strip() == "assign batch 2 cases"
    assert git_status(repo) == []
    verified = sup("verify", "--json")
    assert verified.code == 0, verified.stdout

    # after: show, list, due and the caseload
    for case_id in open_cases:
        assert otieno("show", case_id, "--json").json()["worker"] == "otieno"
        assert amina("show", case_id).code == 5
    assert sup("show", closed, "--json").json()["worker"] == "amina"  # a closed case stays as it is
    assert sup("list", "--worker", "amina", "--status", "open", "--json").json() == []
    assert sorted(r["case_id"] for r in otieno("list", "--worker", "otieno", "--status", "open", "--json").json()) \
        == sorted(open_cases + [kept])
    due = otieno("due", "--within", "400", "--json")
    assert due.code == 0, due.stderr
    assert set(open_cases) <= {item["case_id"] for item in due.json()}
    caseload = sup("report", "caseload", "--format", "json")
    assert caseload.code == 0, caseload.stderr
    rows = {row["worker"]: row for row in caseload.json()["workers"]}
    assert rows["otieno"]["open"] == 3 and rows["amina"]["open"] == 0
    # the conference shows the case's worker now, as its agenda presents it
    assert sup("conference", "show", conference_id, "--json").json()["cases"][0]["worker"] == "otieno"
    assert otieno("conference", "show", conference_id, "--json").json()["cases"][0]["worker"] == "otieno"
    # and nothing is left to hand over
    again = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert again.code == 4 and again.json()["fields"][0]["field"] == "--from-worker"


def test_assign_from_worker__a_dry_run_says_what_it_would_move_and_writes_nothing(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    cases = sorted([register(amina), register(amina)])
    before = head(repo)
    dry = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "2 assignment(s) checked, nothing written (--dry-run)" in dry.stderr
    assert all(f"{case_id} would be assigned to otieno (was amina)" in dry.stderr for case_id in cases)
    assert head(repo) == before and git_status(repo) == []
    done = sup("assign", "--from-worker", "amina", "--worker", "otieno")
    assert done.code == 0, done.stderr
    assert "2 assignment(s) checked, 2 written in one commit" in done.stderr
    assert all(f"{case_id} assigned to otieno (was amina)" in done.stderr for case_id in cases)
    assert "next: otieno takes over 2 cases" in done.stderr


def test_assign_from_worker__the_caseload_over_the_cap_is_refused_before_anything_is_written(cli_as, repo):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    cases = [register(amina), register(amina)]
    register(otieno)
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 2\n    warn_from: 2\n    over_cap: refuse\n")
    before = head(repo)
    refused = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "caseload-over-cap", refused.stdout
    assert "this makes 3 open cases; the cap is 2" in refused.json()["message"]
    assert head(repo) == before
    assert all(sup("show", case_id, "--json").json()["worker"] == "amina" for case_id in cases)


def test_assign_from_worker__the_caseload_warning_is_said_once_for_all_the_cases(cli_as, repo):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    for _ in range(3):
        register(amina)
    register(otieno)
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 3\n    warn_from: 2\n")
    done = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert done.code == 0, done.stderr
    warnings = [w for w in done.json()["warnings"] if w.startswith("caseload:")]
    assert warnings == ["caseload: otieno: this makes 4 open cases; the cap is 3 (" + warnings[0].split("(", 1)[1]]


def test_assign_from_worker__a_caseworker_may_not_and_wrong_options_are_refused(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    before = head(repo)
    refused = amina("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "assign-from-worker-needs-supervisor"
    assert head(repo) == before and amina("show", case_id, "--json").json()["worker"] == "amina"
    alone = sup("assign", "--from-worker", "amina")
    assert alone.code == 2 and "--from-worker needs --worker" in alone.stderr
    with_case = sup("assign", case_id, "--from-worker", "amina", "--worker", "otieno")
    assert with_case.code == 2 and "CASE goes with one case, not with --from-worker" in with_case.stderr
    nobody = sup("assign", "--from-worker", "nobody", "--worker", "otieno")
    assert nobody.code == 3
    same = sup("assign", "--from-worker", "amina", "--worker", "amina", "--json")
    assert same.code == 4 and same.json()["fields"][0]["field"] == "--worker"
    assert head(repo) == before


def test_conference_show__its_json_gives_each_case_its_presenter_its_text_decrypts_no_case(cli_as, monkeypatch):
    """The service's view of a conference (conferences.show) gives each case's presenter only when
    asked (--json): the text shows no worker, so it reads no case (commit 7d8b7e3)."""
    from cpcm.service import conferences, context

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    conference_id = _conference(sup, case_id)
    read: list[str] = []
    real = context.load_records
    monkeypatch.setattr(context, "load_records", lambda ctx, subject: read.append(subject) or real(ctx, subject))
    shown = sup("conference", "show", conference_id)
    assert shown.code == 0, shown.stderr
    assert case_id in shown.stdout and "amina" not in shown.stdout and read == []
    assert sup("conference", "show", conference_id, "--json").json()["cases"][0]["worker"] == "amina"
    assert read == [case_id]
    found, data = conferences.show(library_session(sup), conference_id)
    assert found.id == conference_id and data["cases"][0]["case_id"] == case_id and read == [case_id]
    assert conferences.show(library_session(sup), conference_id, presenting=True)[1]["cases"][0]["worker"] == "amina"
