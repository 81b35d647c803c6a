"""A closure reason of its own for each initial assessment's outcome that closes the case (IAG Step 1
[L741-743]: a child screened out against the eligibility criteria; Step 2 [L810]: no concerns found):
`not_eligible` and `no_concerns`, with their checklists in the policy's `closure_reasons` (the one list
of the reasons: the closure form's choices and the statistics report's rows read it), counted apart
from `no_longer_eligible` (a case taken on that later stops meeting the criteria, IAG §1 [L125]).
Closures recorded with `no_longer_eligible` after a screening outcome stay valid and are counted
under that reason. Through the CLI, as a worker and a supervisor use it."""
from __future__ import annotations

from conftest import CANARY, commit_count, register
from cpcm.domain.forms import with_policy_lists
from cpcm.errors import InvalidInput
from cpcm.store import forms, policies
from test_eligibility import INITIAL

FEEDBACK = "referrer_feedback=Told the head teacher by phone; suggested the county education office"
THRESHOLD_0 = "rules:\n  reporting:\n    small_cell_threshold: 0\n"


def _screened_out(cli, outcome: str = "close_not_eligible") -> str:
    """A case registered with no criteria met, whose initial assessment concluded `outcome`."""
    case_id = register(cli, "--criteria", "", child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01",
                                                      "disability": "no"})
    extra = ["--set", FEEDBACK] if outcome == "close_not_eligible" else []
    done = cli("assess", case_id, "--type", "initial", *INITIAL, "--outcome", outcome, *extra)
    assert done.code == 0, done.stderr
    return case_id


def _closed(cli, sup, case_id: str, reason: str) -> None:
    asked = cli("close", case_id, "--reason", reason, "--check", "all")
    assert asked.code == 0, asked.stderr
    approved = sup("approve", case_id, "closure")
    assert approved.code == 0, approved.stderr


def _statistics_rows(sup, *args: str) -> dict[str, list]:
    """The closures-by-reason table of `cpcm report statistics --json`: {reason words: row}."""
    report = sup("report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31", "--json", *args)
    assert report.code == 0, report.stderr
    table = next(t for t in report.json()["tables"] if t["id"] == "closures_by_reason_sex")
    return {row[0]: row for row in table["rows"]}


def _exact_counts(sup, tmp_env) -> None:
    """Every count published as it is (reporting.small_cell_threshold 0), so that the test reads them."""
    override = tmp_env / "policy.yaml"
    override.write_text(THRESHOLD_0)
    assert sup("policy", "set", str(override)).code == 0


def test_policy__the_screening_reasons_with_their_checklists_and_sources_and_the_form_reads_them():
    inter, kenya = policies.load("inter-agency"), policies.load("kenya")
    assert inter.get("closure_reasons", "not_eligible") == ["criteria_reviewed", "referrer_informed", "manager_informed"]
    assert inter.get("closure_reasons", "no_concerns") == ["child_safe", "basic_needs_met"]
    assert "no_longer_eligible" in inter.closure_reasons  # kept: a case taken on that later stops meeting the criteria
    source = inter.source("closure_reasons")
    assert "Step 1 [L741-743]" in source and "L810]" in source and "[L125]" in source
    assert kenya.get("closure_reasons", "not_eligible") == inter.get("closure_reasons", "not_eligible")  # kenya inherits
    assert set(kenya.closure_reasons) == set(inter.closure_reasons)
    # the closure form holds no list of its own: its reasons are the policy's
    form = forms.load("closure")
    assert next(f for f in form.fields if f.key == "reason").choices == inter.closure_reasons
    assert "reason" not in form.lists
    assert next(f for f in with_policy_lists(form, {"closure_reasons": ("a", "b")}).fields if f.key == "reason").choices == ("a", "b")


def test_close__not_eligible_after_screening_end_to_end_and_counted_apart(cli_as, tmp_env, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    _exact_counts(sup, tmp_env)
    screened = _screened_out(amina)
    # what `due` and the refused next step name is the new reason
    due = amina("due", "--json").json()
    item = next(i for i in due if i["case_id"] == screened and i["title"].startswith("close the case"))
    assert f"cpcm close {screened} --reason not_eligible" in item["why"], item
    blank = amina("close", screened, "--reason", "not_eligible", "--check", "criteria_reviewed", "--check",
                  "referrer_informed", "--check", "manager_informed", "--json")
    assert blank.code == 0, blank.stderr
    assert sup("approve", screened, "closure").code == 0
    shown = amina("show", screened, "--json").json()
    assert shown["status"] == "closed" and shown["closure"]["reason"] == "not_eligible", shown
    assert "(not_eligible)" in amina("show", screened).stdout
    case_file = amina("render", "case-file", screened, "--format", "md", "--out", "-")
    assert case_file.code == 0, case_file.stderr
    assert "not eligible" in case_file.stdout, case_file.stdout
    report = amina("render", "closure-report", screened, "--format", "md", "--out", "-")
    assert report.code == 0, report.stderr
    assert "outside the agency's eligibility criteria (screened out at registration)" in report.stdout, report.stdout
    assert "The programme manager was told, for the review of the criteria." in report.stdout
    # no concerns found, and a case taken on that later stopped meeting the criteria, each under its own reason
    no_concerns = _screened_out(amina, "close_no_concerns")
    _closed(amina, sup, no_concerns, "no_concerns")
    later = register(amina)
    assert amina("assess", later, "--type", "initial", *INITIAL, "--outcome", "proceed").code == 0
    _closed(amina, sup, later, "no_longer_eligible")
    rows = _statistics_rows(sup)
    assert rows["not eligible"][-1] == 1 and rows["no concerns"][-1] == 1 and rows["no longer eligible"][-1] == 1, rows
    assert rows["total"][-1] == 3
    text = sup("report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "md")
    assert text.code == 0 and "| not eligible |" in text.stdout and "| no concerns |" in text.stdout, text.stdout
    html = sup("report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "html")
    assert html.code == 0 and "not eligible" in html.stdout and "no longer eligible" in html.stdout


def test_close__not_eligible_without_the_referrer_informed_is_refused_and_writes_nothing(cli_as, repo):
    amina = cli_as("amina")
    screened = _screened_out(amina)
    before = commit_count(repo)
    refused = amina("close", screened, "--reason", "not_eligible", "--check", "criteria_reviewed", "--check",
                    "manager_informed", "--json")
    assert refused.code == 4, refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["checklist.referrer_informed"]
    assert "--check referrer_informed" in refused.stderr and CANARY not in refused.stderr
    assert commit_count(repo) == before
    assert amina("show", screened, "--json").json()["stage"] != "closure_requested"


def test_close__a_screening_reason_needs_the_initial_assessment_that_concluded_it(cli_as, repo):
    amina = cli_as("amina")
    taken_on = register(amina)
    assert amina("assess", taken_on, "--type", "initial", *INITIAL, "--outcome", "proceed").code == 0
    no_concerns = _screened_out(amina, "close_no_concerns")
    before = commit_count(repo)
    refused = amina("close", taken_on, "--reason", "not_eligible", "--check", "all", "--json")
    assert refused.code == 4, refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["reason"]
    assert "latest initial assessment concluded 'proceed'" in refused.stderr
    mixed = amina("close", no_concerns, "--reason", "not_eligible", "--check", "all", "--json")
    assert mixed.code == 4 and [f["field"] for f in mixed.json()["fields"]] == ["reason"], mixed.stderr
    assert f"cpcm close {no_concerns} --reason no_concerns" in mixed.stderr
    assert commit_count(repo) == before


def test_statistics__old_closures_with_no_longer_eligible_after_screening_stay_under_that_reason(cli_as, tmp_env, repo):
    """A repository whose screened-out children were closed with no_longer_eligible (before they had a
    reason of their own) keeps those closures as they are: valid, and counted under no_longer_eligible,
    apart from the closures recorded with not_eligible since."""
    amina, sup = cli_as("amina"), cli_as("sup")
    _exact_counts(sup, tmp_env)
    old = _screened_out(amina)
    _closed(amina, sup, old, "no_longer_eligible")  # as the earlier next step asked
    new = _screened_out(amina)
    _closed(amina, sup, new, "not_eligible")
    assert amina("show", old, "--json").json()["closure"]["reason"] == "no_longer_eligible"
    assert sup("check", old).code == 0
    rows = _statistics_rows(sup)
    assert rows["no longer eligible"][-1] == 1 and rows["not eligible"][-1] == 1, rows


def test_form_set__an_agency_closure_form_keeps_the_policy_s_reasons():
    """An agency's closure form in place of cpcm's keeps taking its reasons from the policy (or
    lists every one of them); one that drops a reason is refused, naming the field."""
    shipped = (forms.HERE / "closure.yaml").read_text()
    assert forms.check_text("closure", shipped).field("reason").policy_list == "closure_reasons"
    own_list = shipped.replace("    policy_list: closure_reasons\n", "    choices: [goals_met, declined]\n")
    try:
        forms.check_text("closure", own_list)
    except InvalidInput as refused:
        assert [e.field for e in refused.errors] == ["reason"] and "lacks reached_18" in refused.errors[0].reason
    else:
        raise AssertionError("a closure form without the policy's reasons was taken")


def test_correct__a_waiting_closure_request_corrected_to_a_screening_reason_is_checked_as_close_checks_it(cli_as):
    """A caseworker's closure request still waiting for its decision is corrected by its worker: a
    reason changed to `not_eligible` where the initial assessment concluded otherwise, or without
    the new reason's checklist, is refused as `cpcm close` refuses it (exit 4, the fields named,
    nothing written)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = _screened_out(amina, "close_no_concerns")
    asked = amina("close", case_id, "--reason", "no_concerns", "--check", "all")
    assert asked.code == 0, asked.stderr
    before = commit_count(amina.env["CPCM_REPO"])
    refused = amina("correct", case_id, "closure", "--set", "reason=not_eligible", "--reason", "wrong reason", "--json")
    assert refused.code == 4, refused.stderr
    fields = [f["field"] for f in refused.json()["fields"]]
    assert fields[0] == "reason" and "checklist.referrer_informed" in fields
    assert "concluded 'close_no_concerns'" in refused.json()["fields"][0]["reason"]
    assert commit_count(amina.env["CPCM_REPO"]) == before
    dropped = amina("correct", case_id, "closure", "--set", "checklist=child_safe", "--reason", "ticked too many", "--json")
    assert dropped.code == 4 and [f["field"] for f in dropped.json()["fields"]] == ["checklist.basic_needs_met"]
    assert 'give the whole checklist: --set "checklist=child_safe;basic_needs_met"' in dropped.json()["fields"][0]["reason"]
    assert sup("approve", case_id, "closure").code == 0


def test_correct__a_closure_asked_for_one_reason_is_asked_again_for_another_not_corrected_by_its_worker(cli_as):
    """`cpcm close` checks a request whole for its reason (the follow-ups before goals_met, the
    readiness and the sign-off where the policy asks them); its worker changing the reason by a
    correction would skip them: refused, the hint the withdrawal and the request again. A
    supervisor who may decide it corrects it as it stands."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = _screened_out(amina, "close_no_concerns")
    assert amina("close", case_id, "--reason", "no_concerns", "--check", "all").code == 0
    before = commit_count(amina.env["CPCM_REPO"])
    refused = amina("correct", case_id, "closure", "--set", "reason=declined", "--set",
                    "checklist=decision_respected;no_grounds_to_override;child_safe_enough", "--reason", "x", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "correction-changes-decided", refused.stderr
    assert f"cpcm close {case_id} --withdraw" in refused.json()["hint"]
    assert commit_count(amina.env["CPCM_REPO"]) == before
    done = sup("correct", case_id, "closure", "--set", "reason=declined", "--set",
               "checklist=decision_respected;no_grounds_to_override;child_safe_enough", "--reason", "the family declined")
    assert done.code == 0, done.stderr


def test_correct__a_screening_closure_from_before_a_reopening_is_judged_in_its_own_cycle(cli_as):
    """A closure for not_eligible, approved, then the case reopened: correcting that closure's
    checklist is judged against the initial assessment of its own cycle, not the cycle since
    (which has none yet)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = _screened_out(amina)
    _closed(amina, sup, case_id, "not_eligible")
    assert sup("reopen", case_id, "--reason", "a new report from the school").code == 0
    closure_id = next(r["record_id"] for r in sup("log", case_id, "--json").json() if r["kind"] == "closure")
    fixed = sup("correct", case_id, closure_id, "--set", "checklist=manager_informed;criteria_reviewed;referrer_informed",
                "--reason", "the order of the items", "--json")
    assert fixed.code == 0, fixed.stderr


def test_approve__a_screening_closure_whose_initial_assessment_was_corrected_since_is_not_approved(cli_as):
    """A closure asked for `not_eligible` while the initial assessment concluded so; that assessment
    is corrected to `proceed` before the decision: approving the closure is refused (the reason no
    longer fits), with the rejection as the way out."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = _screened_out(amina)
    assert amina("close", case_id, "--reason", "not_eligible", "--check", "all").code == 0
    fixed = amina("correct", case_id, "assessment@initial", "--set", "outcome=proceed", "--reason", "she meets a criterion")
    assert fixed.code == 0, fixed.stderr
    before = commit_count(amina.env["CPCM_REPO"])
    refused = sup("approve", case_id, "closure", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-reason-unfit", refused.stderr
    assert f"cpcm reject {case_id} closure" in refused.json()["hint"]
    assert commit_count(amina.env["CPCM_REPO"]) == before
    assert sup("reject", case_id, "closure", "--note", "she meets a criterion: go on").code == 0


def test_correct__a_closure_from_before_a_reopening_reads_its_cycle_with_the_corrections_made_since(cli_as):
    """Closed no_concerns and reopened; the first cycle's initial assessment then corrected to
    close_not_eligible: a supervisor correcting that closure's reason to not_eligible is judged
    against the corrected assessment (it stands where the one it corrected was)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = _screened_out(amina, "close_no_concerns")
    _closed(amina, sup, case_id, "no_concerns")
    assert sup("reopen", case_id, "--reason", "a new report").code == 0
    fixed = amina("correct", case_id, "assessment@initial", "--set", "outcome=close_not_eligible", "--set", FEEDBACK,
                  "--reason", "she was screened out")
    assert fixed.code == 0, fixed.stderr
    closure_id = next(r["record_id"] for r in sup("log", case_id, "--json").json() if r["kind"] == "closure")
    done = sup("correct", case_id, closure_id, "--set", "reason=not_eligible", "--set",
               "checklist=criteria_reviewed;referrer_informed;manager_informed", "--reason", "the reason that fits", "--json")
    assert done.code == 0, done.stderr
