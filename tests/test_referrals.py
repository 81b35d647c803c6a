"""Consent, the service directory and referrals tracked to an outcome."""
from __future__ import annotations

import json
import subprocess

from conftest import CANARY, register

CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--offers", "nutrition", "--cost", "free"]
CONSENT = ["--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "all"]


def commits(repo) -> int:
    return int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout)


def refer(cli, case_id, need="treatment for malnutrition"):
    return cli("refer", case_id, "--service", "clinic", "--need", need, "--check", "all")


def test_refer__refused_without_consent_accepted_with_it_refused_after_one_off_use(cli, repo):
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    refused = refer(cli, case_id)
    assert refused.code == 4 and "consent" in refused.stderr
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver, "--one-off").code == 0
    assert refer(cli, case_id).code == 0
    again = refer(cli, case_id)
    assert again.code == 4 and "already used" in again.stderr


def test_refer__expired_consent_counts_as_none(cli):
    cli(*CLINIC)
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver, "--until", "2026-11-01").code == 0
    result = refer(cli, case_id)
    assert result.code == 4 and "expired" in result.stderr


def test_refer__consent_for_another_agency_does_not_count(cli):
    cli(*CLINIC)
    cli("service", "add", "school", "--provider", "Primary School", "--sector", "education", "--offers", "schooling")
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        cli("consent", case_id, "--purpose", "referral", "--agency", "school", "--status", "given", "--explained", "all", "--by", giver)
    assert refer(cli, case_id).code == 4


def test_refer__a_supervisors_override_stands_in_once(cli, cli_as):
    cli(*CLINIC)
    case_id = register(cli)
    cli("consent", case_id, *CONSENT[:4], "--status", "refused", "--explained", "all", "--by", "caregiver", "--reason", "distrust")
    own = cli("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests", "--reason", "x")
    assert own.code == 4 and "supervisor" in own.stderr
    sup = cli_as("sup")
    bad = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "whim", "--reason", "x")
    assert bad.code == 4 and "basis" in bad.stderr
    ok = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
             "--reason", "the child is malnourished and needs treatment now")
    assert ok.code == 0, ok.stderr
    done = refer(cli, case_id)
    assert done.code == 0 and "overridden" in done.stderr
    assert refer(cli, case_id).code == 4  # the override was used


def test_referral__carries_only_what_the_sharing_rule_allows(cli, repo):
    cli(*CLINIC)
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "yes"},
                       notes="private note about the family", concerns=["sexual_abuse"])
    for giver in ("child", "caregiver"):
        cli("consent", case_id, *CONSENT, "--by", giver)
    assert refer(cli, case_id).code == 0
    from cpcm import service
    from conftest import Cli

    ctx = service.open_repo(repo, __import__("pathlib").Path(cli.env["CPCM_IDENTITY"]))
    referral = next(r for r in service.load_records(ctx, case_id) if r.kind == "referral")
    shared = referral.body["shared"]
    assert set(shared) == {"identity", "contact", "need", "urgency", "medical"}  # health: the default and medical
    text = json.dumps(shared)
    assert CANARY in text  # the name is part of identity
    assert "sexual_abuse" not in text and "private note" not in text and "date_of_birth" not in text


def test_referral__lifecycle_refuses_jumps_and_needs_start_and_duration(cli):
    cli(*CLINIC)
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        cli("consent", case_id, *CONSENT, "--by", giver)
    refer(cli, case_id)
    jump = cli("referral", case_id, "R1", "--status", "delivered", "--feedback", "done")
    assert jump.code == 4 and "cannot become 'delivered'" in jump.stderr and "accepted" in jump.stderr
    bare = cli("referral", case_id, "R1", "--status", "accepted")
    assert bare.code == 4 and "start" in bare.stderr and "expected_duration" in bare.stderr
    assert cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-25", "--expected-duration", "6w").code == 0
    assert cli("referral", case_id, "R1", "--status", "delivered", "--feedback", "treated").code == 0
    shown = cli("show", case_id, "--json").json()
    assert [h["status"] for h in shown["referrals"][0]["history"]] == ["sent", "accepted", "delivered"]
    assert cli("referral", case_id, "R9", "--status", "closed").code == 3


def test_due__referral_waiting_for_feedback_past_the_policy_time_and_declines_raise_a_follow_up(cli):
    cli(*CLINIC)
    case_id = register(cli, "--at", "2026-10-01T09:00:00+03:00")
    for giver in ("child", "caregiver"):
        cli("consent", case_id, *CONSENT, "--by", giver, "--at", "2026-10-01T10:00:00+03:00")
    assert cli("refer", case_id, "--service", "clinic", "--need", "x", "--check", "all", "--at", "2026-10-02T09:00:00+03:00").code == 0
    items = {i["code"]: i for i in cli("due", "--json").json() if i["case_id"] == case_id}
    assert items["referral-feedback"]["state"] == "overdue"
    assert items["referral-feedback"]["due"].startswith("2026-10-16")
    cli("referral", case_id, "R1", "--status", "declined", "--feedback", "no places")
    items = {i["code"] for i in cli("due", "--json").json() if i["case_id"] == case_id}
    assert "referral-feedback" not in items and "referral-follow-up" in items


def test_refer__the_six_checks_are_asked_for(cli):
    cli(*CLINIC)
    case_id = register(cli)
    result = cli("refer", case_id, "--service", "clinic", "--need", "x", "--check", "eligibility_known")
    assert result.code == 4
    for check in ("need_matched", "cost_distance_considered", "provider_told"):
        assert check in result.stderr


def test_service_import__good_file_and_three_bad_rows_nothing_written(cli, repo, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,provider,sector,services,cost,languages\n"
                    "clinic,County Clinic,health,child health;nutrition,free,English;Kiswahili\n"
                    "school,Primary School,education,schooling,free,Kiswahili\n")
    before = commits(repo)
    assert cli("service", "import", str(good)).code == 0
    assert commits(repo) == before + 1
    listed = cli("service", "list", "--json").json()
    assert {s["id"] for s in listed} == {"clinic", "school"}
    assert next(s for s in listed if s["id"] == "clinic")["services"] == ["child health", "nutrition"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,provider,sector,services\n"
                   "ok-one,Fine Provider,health,care\n"
                   "Bad Id,Provider,health,care\n"
                   "nosector,Provider,,care\n"
                   "wrong,Provider,astrology,care\n")
    result = cli("service", "import", str(bad))
    assert result.code == 4
    for row, field in (("row 3", "id"), ("row 4", "sector"), ("row 5", "sector")):
        assert f"{row}: {field}" in result.stderr
    assert commits(repo) == before + 1
    assert {s["id"] for s in cli("service", "list", "--json").json()} == {"clinic", "school"}


def test_service_gaps__needs_no_provider_answers(cli):
    cli(*CLINIC)
    case_id = register(cli)
    cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps({
        "dimensions": {"physical": {"risks": "x"}}, "child_views": "x", "outcome_explained_to_child": "yes",
        "consulted": ["child"], "needs": ["nutrition support", "birth certificate"]}))
    gaps = {g["need"]: g["cases"] for g in cli("service", "gaps", "--json").json()}
    assert gaps == {"birth certificate": 1}
