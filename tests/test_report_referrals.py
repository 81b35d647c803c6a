"""`cpcm report referrals`: how referrals fare with each provider of the service directory (IAG
Step 4, monitor service contracts with providers; ESARO S4): per service, the referrals sent in the
period, accepted, declined, waiting for feedback and past the policy's limit (the rule of `cpcm
due`'s referral-feedback item), answered late, the median days to the provider's answer, the
outcomes; each provider's agreement with the agency (`contract` in the directory), flagged when it
has ended or ends within the policy's notice. A case the reader cannot read is not counted; case
IDs, never a child's name. The agreement's dates are checked when a service is added; a referral
to a service whose agreement has ended is sent with a warning."""
from __future__ import annotations

from conftest import CANARY, commit_count, consent_both, register

EARLY = "2026-10-01T09:00:00+03:00"  # NOW (conftest) is 2026-11-23T09:00:00+03:00
CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--contract-reference", "MOU-2026-01", "--contract-start", "2026-01-01", "--contract-end", "2027-06-30"]
SCHOOL = ["service", "add", "school", "--provider", "Bridge School", "--sector", "education", "--offers", "schooling",
          "--contract-reference", "AGR-7", "--contract-start", "2026-01-01", "--contract-end", "2026-12-10"]
SHELTER = ["service", "add", "shelter", "--provider", "Safe House", "--sector", "shelter", "--offers", "emergency shelter"]


def sent(cli, case_id: str, service_id: str) -> None:
    consent_both(cli, case_id, agency=service_id)
    result = cli("refer", case_id, "--service", service_id, "--need", "support", "--check", "all")
    assert result.code == 0, result.stderr


def caseload(cli_as) -> dict:
    """amina's cases: two referred to the clinic on 1 October (one accepted after 4 days, one
    declined after 19: past the 14-day limit), one (the canary child) referred to the school then
    and never answered, one referred to the school today; sup's own case, referred to the clinic
    today (amina cannot read it). The shelter has no referral and no agreement."""
    early = cli_as("amina", CPCM_NOW=EARLY)
    for add in (CLINIC, SCHOOL, SHELTER):
        assert early(*add).code == 0
    accepted, declined = register(early), register(early)
    canary = register(early, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    for case_id, service_id in ((accepted, "clinic"), (declined, "clinic"), (canary, "school")):
        sent(early, case_id, service_id)
    answer = cli_as("amina", CPCM_NOW="2026-10-05T09:00:00+03:00")("referral", accepted, "R1", "--status", "accepted", "--start",
                                                                   "2026-10-06", "--expected-duration", "3mo")
    assert answer.code == 0, answer.stderr
    late = cli_as("amina", CPCM_NOW="2026-10-20T09:00:00+03:00")("referral", declined, "R1", "--status", "declined",
                                                                 "--feedback", "no places")
    assert late.code == 0, late.stderr
    today = register(cli_as("amina"))
    sent(cli_as("amina"), today, "school")
    own = register(cli_as("sup"))
    sent(cli_as("sup"), own, "clinic")
    return {"accepted": accepted, "declined": declined, "canary": canary, "today": today, "own": own}


def report(cli, *extra: str) -> dict:
    result = cli("report", "referrals", "--json", *extra)
    assert result.code == 0, result.stderr
    return result.json()


def counts(row: dict) -> tuple:
    return (row["sent"], row["accepted"], row["declined"], row["waiting"], row["past_limit"], row["answered_late"],
            row["median_days_to_answer"], row["delivered"], row["not_delivered"], row["closed"])


def test_report_referrals__counts_each_providers_answers_the_median_and_those_past_the_feedback_limit(cli_as):
    ids = caseload(cli_as)
    view = report(cli_as("amina"))
    rows = {r["service"]: r for r in view["services"]}
    assert list(rows) == ["clinic", "school", "shelter"]
    assert counts(rows["clinic"]) == (2, 1, 1, 0, 0, 1, 11.5, 0, 0, 0)  # 4 and 19 days: sup's referral is not counted
    assert counts(rows["school"]) == (2, 0, 0, 2, 1, 0, None, 0, 0, 0)
    assert counts(rows["shelter"]) == (0, 0, 0, 0, 0, 0, None, 0, 0, 0)
    assert [(p["case_id"], p["ref"], p["service"], p["sent_on"], p["due_on"], p["days_over"]) for p in view["past_limit"]] == [
        (ids["canary"], "R1", "school", "2026-10-01", "2026-10-15", 39)]
    assert (view["counts"]["sent"], view["counts"]["past_limit"], view["counts"]["cases"], view["counts"]["median_days_to_answer"]) == (
        4, 1, 4, 11.5)
    assert view["meta"]["cases_read"] == 4 and view["meta"]["cases_in_repository"] == 5
    assert "The 4 cases you can read, of 5" in view["meta"]["coverage"]
    # each agreement's end, flagged within the policy's 30 days
    assert rows["clinic"]["contract"] == {"reference": "MOU-2026-01", "start": "2026-01-01", "end": "2027-06-30", "state": None}
    assert rows["school"]["contract"]["state"] == "ends soon" and rows["shelter"]["contract"]["end"] == ""
    assert view["contracts_flagged"] == [{"service": "school", "end": "2026-12-10", "state": "ends soon"}]
    # sup reads every case: his own referral to the clinic waits, within the limit
    everyone = {r["service"]: r for r in report(cli_as("sup"))["services"]}
    assert counts(everyone["clinic"]) == (3, 1, 1, 1, 0, 1, 11.5, 0, 0, 0)
    hers = {r["service"]: r for r in report(cli_as("sup"), "--worker", "amina")["services"]}
    assert hers["clinic"]["sent"] == 2
    assert cli_as("sup")("report", "referrals", "--worker", "nobody").code == 3
    assert cli_as("sup")("report", "placements", "--worker", "amina").code == 2
    # the period: by the day each was sent
    october = {r["service"]: r["sent"] for r in report(cli_as("amina"), "--from", "2026-10-01", "--to", "2026-10-31")["services"]}
    assert october == {"clinic": 2, "school": 1, "shelter": 0}


def test_report_referrals__names_no_child_in_any_format_or_file(cli_as, tmp_path):
    ids = caseload(cli_as)
    amina = cli_as("amina")
    for fmt in ("md", "html", "csv", "json"):
        shown = amina("report", "referrals", "--format", fmt)
        assert shown.code == 0, shown.stderr
        assert ids["canary"] in shown.stdout and CANARY not in shown.stdout + shown.stderr, fmt
        assert ids["own"] not in shown.stdout, fmt
    plain = amina("report", "referrals")
    assert plain.code == 0 and CANARY not in plain.stdout + plain.stderr
    assert "clinic\tCounty Clinic\t2\t1\t1\t0\t0\t1\t11.5\t0\t0\t0\t2027-06-30" in plain.stdout, plain.stdout
    assert "2026-12-10 (ends soon)" in plain.stdout
    out = tmp_path / "referrals.md.age"
    assert amina("report", "referrals", "--out", str(out)).code == 0
    assert out.read_bytes().startswith(b"age-encryption.org/v1")  # case IDs: encrypted unless --plaintext
    assert CANARY not in (tmp_path / "referrals.md.age").read_bytes().decode("latin-1")


def test_report_referrals__the_heading_lists_the_flagged_agreements_and_says_whose_cases_are_counted(cli_as):
    """The printed tables' heading lacked the flagged agreements (only --format md and html had
    them), and with --worker the heading and meta.coverage said 'All 5 cases of the repository'
    though only that worker's were counted: the heading's lines are now the view's, one text for
    every format, and the coverage names the worker and how many of the repository's are counted."""
    caseload(cli_as)
    sup, flagged = cli_as("sup"), "Agreements ended or ending within 30 days: school (ends soon 2026-12-10)."
    plain = sup("report", "referrals", "--worker", "amina")
    assert plain.code == 0, plain.stderr
    top = plain.stdout.split("\n\n")[0].splitlines()
    assert top[1:] == ["# Test Agency (TEST); The 4 cases of amina, of 5 in the repository", f"# {flagged}"], top
    assert report(sup, "--worker", "amina")["meta"]["coverage"] == "The 4 cases of amina, of 5 in the repository"
    assert report(sup)["meta"]["coverage"] == "All 5 cases of the repository"
    assert report(cli_as("amina"), "--worker", "amina")["meta"]["coverage"] == "The 4 cases of amina you can read, of 5 in the repository"
    for fmt in ("md", "html"):
        shown = sup("report", "referrals", "--worker", "amina", "--format", fmt)
        assert shown.code == 0 and shown.stdout.count(flagged) == 1, (fmt, shown.stdout)
        assert "The 4 cases of amina, of 5 in the repository" in shown.stdout, fmt


def test_service_add__an_agreement_ending_before_it_starts_is_refused_naming_the_field_nothing_written(cli, repo):
    before = commit_count(repo)
    services = (repo / ".cpcm" / "services.yaml")
    was = services.read_bytes() if services.exists() else None
    refused = cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care",
                  "--contract-start", "2026-06-01", "--contract-end", "2026-05-31", "--json")
    assert refused.code == 4, refused.stdout + refused.stderr
    assert refused.json()["fields"] == [{"field": "contract.end", "reason": "is before contract.start (2026-06-01): give the "
                                         "agreement's last day, on or after its first day", "option": "--contract-end"}]
    bad = cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care",
              "--contract-end", "2026-13-01", "--json")
    assert bad.code == 4 and bad.json()["fields"] == [{"field": "contract.end", "reason": "is not a date of the calendar: it is in "
                                                       "the shape YYYY-MM-DD, but that month has no such day (or there is no "
                                                       "such month): check the day and the month", "option": "--contract-end"}]
    assert commit_count(repo) == before and (services.read_bytes() if services.exists() else None) == was
    assert cli(*CLINIC).code == 0
    shown = cli("service", "show", "clinic")
    assert shown.code == 0 and "contract.end\t2027-06-30" in shown.stdout and "contract.reference\tMOU-2026-01" in shown.stdout
    assert cli("service", "show", "clinic", "--json").json()["contract"] == {"reference": "MOU-2026-01", "start": "2026-01-01",
                                                                              "end": "2027-06-30"}


def test_service_add__from_a_file_takes_the_files_id_and_refuses_two_ids_that_differ(cli, repo, tmp_path):
    """`cpcm form blank service` asks for `id:`, to give with --from-file: the file's id names the entry
    (SERVICE_ID may be left out); given both ways and different, refused, nothing written (was: SERVICE_ID
    required, the file's id silently replaced by it); neither way, refused."""
    path = tmp_path / "svc.yaml"
    path.write_text("id: gulu-rrh\nprovider: Gulu Regional Hospital\nsector: health\nservices: [child health]\n")
    before = commit_count(repo)
    twice = cli("service", "add", "other-id", "--from-file", str(path), "--json")
    assert twice.code == 2 and "given twice" in twice.json()["message"] and "gulu-rrh" not in twice.stdout + twice.stderr
    assert commit_count(repo) == before
    added = cli("service", "add", "--from-file", str(path), "--json")
    assert added.code == 0, added.stderr
    assert added.json()["id"] == "gulu-rrh" and cli("service", "show", "gulu-rrh").code == 0
    assert cli("service", "add", "gulu-rrh", "--from-file", str(path)).code != 2  # the same id both ways: not refused as twice
    path.write_text("provider: Another Clinic\nsector: health\nservices: [care]\n")
    missing = cli("service", "add", "--from-file", str(path), "--json")
    assert missing.code == 2 and missing.json()["message"] == "the service's id is missing", missing.stdout


def test_refer__to_a_service_whose_agreement_has_ended_warns_naming_it_and_its_end_and_is_recorded(cli, repo):
    assert cli("service", "add", "lapsed", "--provider", "Old Partner", "--sector", "health", "--offers", "care",
               "--contract-start", "2025-01-01", "--contract-end", "2026-10-31").code == 0
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    consent_both(cli, case_id, agency="lapsed")
    before = commit_count(repo)
    result = cli("refer", case_id, "--service", "lapsed", "--need", "care", "--check", "all", "--json")
    assert result.code == 0, result.stderr
    warnings = result.json()["warnings"]
    assert any("agreement with lapsed (Old Partner) ended on 2026-10-31" in w for w in warnings), warnings
    assert commit_count(repo) == before + 1  # recorded all the same
    earlier = register(cli, "--at", "2026-10-01")  # a referral recorded late, sent while the agreement ran: no warning
    consent_both(cli, earlier, "--at", "2026-10-10", agency="lapsed")
    late = cli("refer", earlier, "--service", "lapsed", "--need", "care", "--check", "all", "--at", "2026-10-20", "--json")
    assert late.code == 0, late.stderr
    assert not any("agreement" in w for w in late.json()["warnings"]), late.json()["warnings"]
    consent_both(cli, case_id, agency="clinic")
    current = cli("refer", case_id, "--service", "clinic", "--need", "care", "--check", "all", "--json")
    assert current.code == 0 and not any("agreement" in w for w in current.json()["warnings"])
    shown = cli("report", "referrals")
    assert shown.code == 0 and "2026-10-31 (ended)" in shown.stdout and "2027-06-30\n" in shown.stdout, shown.stdout


def test_report_referrals__a_service_since_removed_is_counted_as_not_in_the_directory():
    """The pure report over a folded case whose referral names a service the directory no longer holds."""
    from datetime import datetime, timezone

    from cpcm.domain.case import Case
    from cpcm.domain.profiles import build
    from cpcm.reports.referrals import referrals
    from cpcm.store import policies

    policy, _ = build(policies.chain("inter-agency"), None)
    ref = {"record_id": "r1", "ref": "R1", "service": "gone", "at": "2026-10-01T06:00:00+00:00", "status": "sent",
           "status_at": "2026-10-01T06:00:00+00:00", "history": [{"status": "sent", "at": "2026-10-01T06:00:00+00:00"}]}
    case = Case(id="CP-AAAA-AAAA", referrals=(ref,), worker="amina")
    now = datetime(2026, 11, 23, 6, tzinfo=timezone.utc)
    view = referrals([case], [], policy, datetime(2026, 1, 1).date(), now.date(), now)
    (row,) = view["services"]
    assert (row["service"], row["provider"], row["in_directory"], row["sent"], row["past_limit"]) == (
        "gone", "not in the directory", False, 1, 1)


def test_report_referrals__reads_no_record_once_the_cache_is_warm(cli_as, reads):
    """Every referral and its history is in the cached case summaries: a report after another
    reads no case's records (no decryption)."""
    caseload(cli_as)
    sup = cli_as("sup")
    assert sup("report", "referrals", "--json").code == 0
    reads.clear()
    again = report(sup)
    assert again["counts"]["sent"] == 5 and reads == []


def test_service_update__an_agreement_renewed_in_one_commit_checked_as_a_new_entry(cli, repo):
    """`cpcm service update ID --set contract.end=...` renews a provider's agreement: one commit,
    the refer warning gone; an end before the start is refused naming the field, nothing written;
    an unknown service is exit 3; the same values are refused as nothing to update."""
    assert cli("service", "add", "lapsed", "--provider", "Old Partner", "--sector", "health", "--offers", "care",
               "--contract-start", "2025-01-01", "--contract-end", "2026-10-31").code == 0
    before = commit_count(repo)
    bad = cli("service", "update", "lapsed", "--set", "contract.end=2024-12-31", "--json")
    assert bad.code == 4 and "contract.end" in bad.stdout and commit_count(repo) == before
    renewed = cli("service", "update", "lapsed", "--set", "contract.end=2027-12-31", "--set", "contract.reference=MOU-2027-01",
                  "--json")
    assert renewed.code == 0, renewed.stderr
    assert renewed.json()["changed"] == ["contract.end", "contract.reference"] and commit_count(repo) == before + 1
    shown = cli("service", "show", "lapsed", "--json").json()
    assert shown["contract"] == {"start": "2025-01-01", "end": "2027-12-31", "reference": "MOU-2027-01"} and shown["provider"] == "Old Partner"
    case_id = register(cli)
    consent_both(cli, case_id, agency="lapsed")
    sent = cli("refer", case_id, "--service", "lapsed", "--need", "care", "--check", "all", "--json")
    assert sent.code == 0 and not any("agreement" in w for w in sent.json()["warnings"])
    assert cli("service", "update", "nowhere", "--set", "contact=x").code == 3
    same = cli("service", "update", "lapsed", "--set", "contract.end=2027-12-31", "--json")
    assert same.code == 4 and same.json()["rule"] == "nothing-to-update"
    assert cli("service", "update", "lapsed", "--set", "id=other").code == 4
