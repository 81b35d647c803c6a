"""Follow-ups, reviews (one and in batch), closure with approval, reopening, reaching 18."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import NOW, register
from test_assess_plan import assessed, plan_doc

GOALS_MET = ["--check", "child_safe", "--check", "wellbeing_supported", "--check", "no_further_concerns",
             "--check", "monitoring_followups_done", "--check", "child_and_family_took_part"]
REVIEW = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
          "decisions": ["continue the plan"], "outcome": "continue"}


def commits(repo) -> int:
    return int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout)


def planned(cli, cli_as):
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    return case_id


def visit(cli, case_id, *extra):
    return cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
               "--visited-by", "professional", "--risk-increased", "no", *extra)


def test_followup__a_home_visit_needs_its_purpose_first(cli):
    case_id = register(cli)
    result = cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--visited-by", "professional",
                 "--risk-increased", "no")
    assert result.code == 4 and "purpose_detail" in result.stderr
    assert visit(cli, case_id).code == 0


def test_followup__risk_increased_is_urgent_and_a_volunteers_concern_reaches_the_worker(cli, cli_as):
    case_id = register(cli)
    other = register(cli)
    result = cli("followup", case_id, "--method", "community", "--purpose", "monitoring", "--visited-by", "volunteer",
                 "--risk-increased", "yes", "--set", "concern=yes")
    assert result.code == 0 and "urgent" in result.stderr
    items = cli("due", "--json").json()
    assert (items[0]["case_id"], items[0]["code"]) == (case_id, "risk-increased")
    assert (case_id, "concern") in {(i["case_id"], i["code"]) for i in items}
    assert other not in {i["case_id"] for i in items if i["code"] in ("risk-increased", "concern")}
    # a professional's later visit with a re-rated risk clears both
    later = {"CPCM_NOW": "2026-11-23T10:00:00+03:00"}
    assert cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check",
               "--visited-by", "professional", "--risk-increased", "no", "--risk", "immediate", "--risk-reason", "violence",
               env=later).code == 0
    codes = {i["code"] for i in cli("due", "--json", env=later).json() if i["case_id"] == case_id}
    assert "risk-increased" not in codes and "concern" not in codes
    assert cli("show", case_id, "--json").json()["risk"] == "immediate"


def test_review__chair_warning_absence_reason_and_the_next_review_date(cli, cli_as):
    case_id = planned(cli, cli_as)
    own = dict(REVIEW, chair="amina")
    result = cli("review", case_id, "--from-file", "-", input=json.dumps(own))
    assert result.code == 0 and "own worker" in result.stderr
    absent = dict(REVIEW, attended={"child": "no", "family": "yes"})
    result = cli("review", case_id, "--from-file", "-", input=json.dumps(absent))
    assert result.code == 4 and "absent_reason" in result.stderr
    late = dict(REVIEW, next_review="2027-12-01")
    result = cli("review", case_id, "--from-file", "-", input=json.dumps(late))
    assert result.code == 4 and "next_review" in result.stderr and "later than the policy" in result.stderr
    early = dict(REVIEW, next_review="2026-12-20")
    assert cli("review", case_id, "--from-file", "-", input=json.dumps(early)).code == 0
    review_item = next(i for i in cli("due", "--json", "--within", "60").json() if i["case_id"] == case_id and i["code"] == "review")
    assert review_item["due"].startswith("2026-12-20")


def _planned_cases(repo: Path, identity: Path, count: int) -> list[str]:
    """Many planned cases at once, written through the library in one commit (fast)."""
    from cpcm import service
    from cpcm.domain.ids import new_case_id
    from cpcm.store.layout import CASES, RECIPIENTS
    from conftest import registration
    from test_assess_plan import COMPREHENSIVE

    ctx = service.open_repo(repo, identity)
    ids = []
    with service.transaction(ctx, "test-setup") as tx:
        for n in range(count):
            case_id = new_case_id()
            body = service.validate_registration(ctx, registration())
            readers = ctx.team.case_readers(["amina"])
            tx.replace_file(f"{CASES}/{case_id}/{RECIPIENTS}", service.recipients_bytes(readers))
            keys = service.keys_for(ctx, readers)
            after = ""
            for kind, data in (("registration", body), ("assessment", {"type": "initial", "risk": "high"}),
                               ("assessment", dict(COMPREHENSIVE, type="comprehensive")), ("plan", plan_doc()),
                               ("approval", {"subject": "plan"})):
                record = service.new_record(ctx, kind, case_id, data, after=after)
                tx.write_record(record, keys)
                after = record.id
            ids.append(case_id)
        tx.commit("setup")
    return ids


def test_review_batch__fifty_cases_in_one_commit(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 50)
    rows = [dict(REVIEW, case=case_id) for case_id in ids]
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps(rows))
    before = commits(repo)
    dry = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert dry.code == 0 and dry.json()["checked"] == 50 and commits(repo) == before
    result = cli("review", "--batch", str(path), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["reviewed"] == 50
    assert commits(repo) == before + 1
    message = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert message == "review batch 50 cases"
    assert cli("show", ids[7], "--json").json()["stage"] == "implementation"


def test_review_batch__three_bad_rows_write_nothing_and_are_all_reported(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 5)
    path = tmp_path / "reviews.csv"
    lines = ["case,chair,attended.child,attended.family,plan_still_right,decisions,outcome"]
    lines += [f"{i},sup,yes,yes,yes,continue;visit monthly,continue" for i in ids[:2]]
    lines.append(f"{ids[2]},sup,no,yes,yes,continue,continue")          # absent child, no reason
    lines.append(f"{ids[3]},sup,yes,yes,maybe,continue,continue")       # bad choice
    lines.append("CP-0000-0000,sup,yes,yes,yes,continue,continue")     # not a case ID
    path.write_text("\n".join(lines) + "\n")
    before = commits(repo)
    result = cli("review", "--batch", str(path))
    assert result.code == 4
    for row in ("row 3", "row 4", "row 5"):
        assert row in result.stderr
    assert "row 1" not in result.stderr and "row 2" not in result.stderr
    assert commits(repo) == before


def test_close__needs_checklist_approval_by_someone_else_and_open_items_explained(cli, cli_as):
    case_id = planned(cli, cli_as)
    cli("service", "add", "clinic", "--provider", "Clinic", "--sector", "health", "--offers", "care")
    for giver in ("child", "caregiver"):
        cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given", "--explained", "all")
    assert cli("refer", case_id, "--service", "clinic", "--need", "x", "--check", "all").code == 0
    assert visit(cli, case_id).code == 0
    missing = cli("close", case_id, "--reason", "goals_met", "--check", "child_safe")
    assert missing.code == 4 and "checklist.no_further_concerns" in missing.stderr
    unexplained = cli("close", case_id, "--reason", "goals_met", *GOALS_MET)
    assert unexplained.code == 4 and "referral R1" in unexplained.stderr and "open_items_explained" in unexplained.stderr
    ok = cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "the clinic follows up on its own")
    assert ok.code == 0, ok.stderr
    assert cli("show", case_id, "--json").json()["status"] == "open"  # a request, not a closure
    assert cli("approve", case_id, "closure").code == 4  # a caseworker cannot approve
    assert cli_as("sup")("approve", case_id, "closure").code == 0
    shown = cli("show", case_id, "--json").json()
    assert shown["status"] == "closed"
    due = {i["code"]: i for i in shown["due"]}
    assert "post-closure-visit" in due
    # closed: no new assessment, but a note and a post-closure visit
    assert cli("assess", case_id, "--type", "comprehensive", "--set", "child_views=x").code == 4
    assert cli("note", case_id, "--text", "called the grandmother").code == 0
    assert cli("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail", "feedback",
               "--visited-by", "professional", "--risk-increased", "no", "--set", "child_feedback=happy").code == 0
    assert "post-closure-visit" not in {i["code"] for i in cli("show", case_id, "--json").json()["due"]}


def test_close__the_cases_own_supervisor_worker_cannot_approve_it(cli_as, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_approval:\n    self_approval: true\n")
    sup = cli_as("sup")
    case_id = planned(sup, cli_as)  # registered and worked by the supervisor
    visit(sup, case_id)
    assert sup("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "none left").code == 0
    result = sup("approve", case_id, "closure")
    assert result.code == 4 and "own worker" in result.stderr


def test_reopen__restarts_the_clocks_and_keeps_the_history(cli, cli_as):
    case_id = register(cli, "--at", "2026-09-01T09:00:00+03:00")
    assert cli("close", case_id, "--reason", "registered_in_error", "--check", "error_confirmed").code == 0
    assert cli_as("sup")("approve", case_id, "closure").code == 0
    before = cli("log", case_id, "--json").json()
    assert cli("reopen", case_id, "--reason", "new report from the school").code == 0
    shown = cli("show", case_id, "--json").json()
    assert shown["status"] == "open" and shown["stage"] == "reopened"
    item = next(i for i in shown["due"] if i["code"] == "initial-assessment")
    assert item["due"].startswith("2026-11-25")  # 48 h from the reopening (CPCM_NOW)
    after = cli("log", case_id, "--json").json()
    assert after[:len(before)] == before and after[-1]["kind"] == "reopen"


def test_reached_18__the_due_list_proposes_closure_and_a_justification_keeps_it_open(cli):
    case_id = register(cli, child={"name": "x", "sex": "male", "date_of_birth": "2009-01-15"})
    item = next(i for i in cli("due", "--json", "--within", "90").json() if i["code"] == "turning-18")
    assert item["case_id"] == case_id and "reached_18" in item["title"]
    assert cli("continue", case_id, "--justification", "finishing school; no family").code == 0
    assert "turning-18" not in {i["code"] for i in cli("due", "--json", "--within", "90").json()}
