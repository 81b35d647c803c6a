"""An external sign-off (the Sub-County Children's Officer's final approval of a closure, Form 9A
item 5) corrected with `cpcm correct`: a mistyped name, title, date or reference is put right by
a supervisor or manager, as one enters it; what was signed off, by whom and the decision are not
changed by a correction. The closure gate and the closure report read the correction."""
from __future__ import annotations

from conftest import SCCO, commit_count, reunified
from test_readiness import KENYA_GOALS_MET, answers, record

WRONG = ["--for", "closure", "--party", "scco", "--name", "J. Mwagni", "--title", "Sub-County Children's Officer",
         "--date", "2026-11-20", "--reference", "SCCO/KSM/141"]


def test_sign_off__a_mistyped_name_corrected_by_a_supervisor_is_what_the_closure_report_prints(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    signed = sup("sign-off", case_id, *WRONG, "--json")
    assert signed.code == 0, signed.stderr
    commits = commit_count(kenya.root)
    refused = amina("correct", case_id, "sign-off", "--set", "name=J. Mwangi", "--reason", "misspelt", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "sign-off-role"
    assert commit_count(kenya.root) == commits
    fixed = sup("correct", case_id, "sign-off", "--set", "name=J. Mwangi", "--set", "reference=SCCO/KSM/114",
                "--reason", "misspelt", "--json")
    assert fixed.code == 0, fixed.stderr
    assert fixed.json()["supersedes"] == signed.json()["record_id"]
    shown = sup("show", case_id, "sign-off", "--json").json()
    assert shown["record_id"] == fixed.json()["record_id"]
    assert (shown["fields"]["name"], shown["fields"]["reference"]) == ("J. Mwangi", "SCCO/KSM/114")
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    report = sup("render", "closure-report", case_id).stdout
    assert "Signed off by J. Mwangi" in report and "SCCO/KSM/114" in report
    assert "Mwagni" not in report and "SCCO/KSM/141" not in report


def test_sign_off__corrected_after_the_closure_request_the_report_prints_the_correction(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    assert sup("sign-off", case_id, *WRONG).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    assert "Mwagni" in sup("render", "closure-report", case_id).stdout
    fixed = sup("correct", case_id, "sign-off", "--set", "name=J. Mwangi", "--reason", "misspelt")
    assert fixed.code == 0, fixed.stderr
    for fmt in ("md", "html"):
        report = sup("render", "closure-report", case_id, "--format", fmt).stdout
        assert "Signed off by J. Mwangi" in report and "Mwagni" not in report


def test_sign_off__what_was_signed_off_by_whom_and_the_decision_are_not_corrected(kenya):
    sup = kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert sup("sign-off", case_id, *SCCO).code == 0
    commits = commit_count(kenya.root)
    refused = sup("correct", case_id, "sign-off", "--set", "decision=not_approved", "--set", "party=acc",
                  "--set", "subject=transfer", "--reason", "x", "--json")
    assert refused.code == 4, refused.stderr
    assert sorted(f["field"] for f in refused.json()["fields"]) == ["decision", "party", "subject"]
    assert all(f"cpcm sign-off {case_id}" in f["reason"] for f in refused.json()["fields"])
    assert commit_count(kenya.root) == commits


def test_sign_off__corrected_twice_after_the_closure_request_the_report_prints_the_latest(kenya):
    """The closure keeps the sign-off it was asked on; a correction of its correction is found
    through the chain's first record (fold.places of all the records), not left out."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    assert sup("sign-off", case_id, *WRONG).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    for name in ("J. Mwang", "J. Mwangi"):
        fixed = sup("correct", case_id, "sign-off", "--set", f"name={name}", "--reason", "misspelt")
        assert fixed.code == 0, fixed.stderr
    report = sup("render", "closure-report", case_id).stdout
    assert "Signed off by J. Mwangi" in report and "Mwagni" not in report, report


def test_sign_off__of_the_closure_before_a_reopening_corrected_twice_does_not_sign_off_the_next(kenya):
    """A correction of a correction stands where its first original was: a sign-off of the closure
    before the case was reopened, corrected twice since, still signed off that closure only (dated
    the day of the reopening, it is not told apart by its date)."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    assert sup("sign-off", case_id, *WRONG[:-4], "--date", "2026-11-23", *WRONG[-2:]).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    assert sup("approve", case_id, "closure").code == 0
    reopened = sup("reopen", case_id, "--reason", "new concern")
    assert reopened.code == 0, reopened.stderr
    for name in ("J. Mwang", "J. Mwangi"):
        fixed = sup("correct", case_id, "sign-off", "--set", f"name={name}", "--reason", "misspelt")
        assert fixed.code == 0, fixed.stderr
    again = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert again.code == 4 and "sign_off" in [f["field"] for f in again.json()["fields"]], again.stdout
    said = next(f for f in again.json()["fields"] if f["field"] == "sign_off")
    assert said["rule"] == "closure-sign-off" and "given before the reopening, or recorded before it" in said["reason"], said
