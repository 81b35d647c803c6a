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
