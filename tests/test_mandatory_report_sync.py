"""Decisions on the mandatory report recorded on two copies apart (docs/commands/mandatory-report.md,
docs/team.md): a caseworker decides on her laptop not to report a concern while the concern is
reported to the police at the office. The merge names the clash (`mandatory-reports-concurrent`)
for a supervisor or manager to look at: `cpcm sync` and `cpcm check` say it by record IDs and
codes only (never a rationale or the authority's reference). The concern was reported, which
cannot be taken back: the decision not to report waits for no supervisor's approval after the
merge, whichever came later. Two reports to two authorities are both right; two reports to one
authority under two references are a clash too; a new decision, or a note, settles it."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, NOW, Cli, git, register
from test_sync import check_codes, due_codes, laptops, merge_both  # noqa: F401 (laptops: a fixture)

CODE = "mandatory-reports-concurrent"
POLICY = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse]\n"
REASON = f"{CANARY} reporting now would expose the child to the household"  # the rationale: never told
REFERENCE = "OB 77/canary"


def reported(to: str = "police", reference: str = REFERENCE) -> tuple[str, ...]:
    return ("--concern", "sexual_abuse", "--decision", "reported", "--to", to, "--reported-on", NOW[:10],
            "--reference", reference, "--rationale", f"{CANARY} the law asks it", "--law-explained", "yes")


NOT_REPORTED = ("--concern", "sexual_abuse", "--decision", "not_reported", "--basis", "safety", "--rationale", REASON,
                "--law-explained", "yes")


def _shared(laptops, tmp_env):
    """The office copy (the supervisor's) with sexual abuse made reportable, and amina's laptop
    cloned from it, both holding one case of hers registered with that concern."""
    sup = laptops.cli("sup")
    policy = tmp_env / "policy.yaml"
    policy.write_text(POLICY)
    assert sup("policy", "set", str(policy)).code == 0
    policy.unlink()
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    case_id = register(amina, concerns=["sexual_abuse"])
    laptops.sync("amina")
    laptops.sync("sup")
    return amina, sup, case_id


def _record(cli, case_id: str, *args: str) -> str:
    done = cli("mandatory-report", case_id, *args, "--json")
    assert done.code == 0, done.stderr
    assert CANARY not in done.stderr and "OB 77" not in done.stderr
    return done.json()["record_id"]


def _message(cli, case_id: str) -> str:
    return next(p["message"] for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == CODE)


def _no_words(laptops, *outputs: str) -> None:
    """No rationale nor reference in what was printed, nor in a commit message of either copy."""
    for text in outputs:
        assert "Zqxcanary" not in text and "OB 77" not in text, text
    for root in (laptops.repo, laptops.clones["amina"]):
        messages = git(root, "log", "--all", "--format=%B")
        assert "Zqxcanary" not in messages and "OB 77" not in messages


def test_not_reported_on_a_laptop_while_reported_at_the_office_is_named__the_approval_waits_no_more(laptops, tmp_env):
    amina, sup, case_id = _shared(laptops, tmp_env)
    report = _record(sup, case_id, *reported())  # at the office: reported to the police
    decision = _record(amina, case_id, *NOT_REPORTED)  # on her laptop, later, not knowing: waits for a supervisor there
    assert "mandatory-report-approval" in due_codes(amina, case_id)

    laptops.sync("amina")
    text = sup("sync")  # the supervisor's merge finds it
    assert text.code == 0, text.stderr
    assert f"warning: {case_id}: {CODE} ({', '.join(sorted([report, decision]))}); see cpcm check {case_id}" in text.stderr
    arrived = laptops.sync("amina")
    assert [(c["case"], c["code"], c["records"]) for c in arrived["conflicts"]] == [(case_id, CODE, sorted([report, decision]))]

    for cli in (sup, amina):
        assert CODE in check_codes(cli, case_id)
        # the concern was reported: nobody approves a decision not to report it any more, and no decision is owed again
        assert not {"mandatory-report-approval", "mandatory-report"} & set(due_codes(cli, case_id)), due_codes(cli, case_id)
    message = _message(sup, case_id)
    assert f"({', '.join(sorted([report, decision]))})" in message and f"cpcm show {case_id} RECORD" in message
    assert f"a decision not to report ({decision}) waits for no supervisor" in message and f"reported ({report})" in message
    assert f"cpcm mandatory-report {case_id}" in message and f"cpcm note {case_id}" in message
    shown = {m["record_id"]: m["supervisor"] for m in sup("show", case_id, "--json").json()["mandatory_reports"]}
    assert shown[decision] == {"decision": "not_needed", "reported": report} and shown[report] is None
    assert "not needed: reported on another copy" in " ".join(sup("show", case_id).stdout.split())
    refused = sup("approve", case_id, "mandatory-report")
    assert refused.code == 4 and "waits for no decision" in refused.stderr  # nothing waits to be approved
    checked = sup("check", case_id)
    _no_words(laptops, text.stdout, text.stderr, checked.stdout, checked.stderr, message)

    assert sup("note", case_id, "--text", "spoke with amina: the child is safe at her aunt's").code == 0
    assert CODE not in check_codes(sup, case_id)


def test_reported_after_a_decision_not_to_report_written_apart_is_named_too(laptops, tmp_env):
    """The other way round: the report is the later in the records. It stands as the case's
    decision (as on one copy); the merge names both all the same, and says of the decision not to
    report what it says when that one is the later: reported on another copy, waiting for nobody
    (not "replaced by a later decision"); a new decision settles it."""
    amina, sup, case_id = _shared(laptops, tmp_env)
    decision = _record(amina, case_id, *NOT_REPORTED)
    report = _record(sup, case_id, *reported())
    assert decision < report  # the report is the later record
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [(CODE, sorted([report, decision]))]
    assert "mandatory-report-approval" not in due_codes(sup, case_id)
    for cli in (sup, amina):
        message = _message(cli, case_id)
        assert f"a decision not to report ({decision}) waits for no supervisor any more, and none is owed again: the " \
               f"concern was reported ({report}), which cannot be taken back" in message, message
        assert "the latest in the records' order stands" not in message
        shown = {m["record_id"]: m["supervisor"] for m in cli("show", case_id, "--json").json()["mandatory_reports"]}
        assert shown[decision] == {"decision": "not_needed", "reported": report} and shown[report] is None
        assert f"not needed: reported on another copy ({report})" in " ".join(cli("show", case_id).stdout.split())
    _record(sup, case_id, *reported())  # the supervisor records the decision that stands, seeing both
    assert CODE not in check_codes(sup, case_id)
    merge_both(laptops)
    # two decisions not to report written apart are one decision: no clash
    _record(amina, case_id, *NOT_REPORTED)
    _record(sup, case_id, *NOT_REPORTED)
    assert merge_both(laptops)["conflicts"] == []


@pytest.mark.parametrize("report_later", [False, True])
def test_approving_a_decision_not_to_report_set_aside_by_a_report_apart_says_why__not_to_sync(laptops, tmp_env, report_later):
    """The decision not to report has arrived with the sync: the supervisor who tries to decide it
    is told it waits for nobody because the concern was reported on the other copy (both IDs), and
    is sent to the problem `cpcm check` names, not to sync again; once a note settles that, the
    refusal says so."""
    amina, sup, case_id = _shared(laptops, tmp_env)
    if report_later:
        decision = _record(amina, case_id, *NOT_REPORTED)
        report = _record(sup, case_id, *reported())
    else:
        report = _record(sup, case_id, *reported())
        decision = _record(amina, case_id, *NOT_REPORTED)
    merge_both(laptops)
    for args in (("approve", case_id, "mandatory-report", "--note", "ok"), ("reject", case_id, "mandatory-report", "--note", "no")):
        refused = sup(*args)
        said = " ".join(refused.stderr.split())
        assert refused.code == 4, refused.stderr
        assert f"decision not to report ({decision}) is here and waits for no decision: the concern was reported on " \
               f"another copy ({report})" in said, said
        assert f"cpcm check {case_id}" in said and CODE in said and f"cpcm note {case_id}" in said
        assert "cpcm sync" not in said and "has no decision not to report" not in said
        _no_words(laptops, refused.stdout, refused.stderr)
    assert sup("note", case_id, "--text", "both read: the child is safe").code == 0
    said = " ".join(sup("approve", case_id, "mandatory-report", "--note", "ok").stderr.split())
    assert f"reported on another copy ({report})" in said and "settled" in said and "cpcm sync" not in said


def test_a_decision_not_to_report_rejected_at_the_office_is_owed_no_more_once_the_report_made_apart_arrives(laptops, tmp_env):
    """The supervisor rejects otieno's decision not to report at the office ("report it") while
    amina, on her laptop, had reported it already: once merged, nothing is owed again."""
    amina, sup, case_id = _shared(laptops, tmp_env)
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-24").code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    report = _record(amina, case_id, *reported())
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(laptops.keys["otieno"][0]), "CPCM_NOW": NOW})  # at the office
    decision = _record(otieno, case_id, *NOT_REPORTED)
    rejected = sup("reject", case_id, "mandatory-report", "--note", "report it")
    assert rejected.code == 0, rejected.stderr
    assert "mandatory-report" in due_codes(sup, case_id)  # owed again, of the rejection
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [(CODE, sorted([report, decision]))]
    assert "mandatory-report" not in due_codes(sup, case_id)


def test_reports_to_two_authorities_apart_are_both_right__to_one_authority_under_two_references_a_clash(laptops, tmp_env):
    amina, sup, case_id = _shared(laptops, tmp_env)
    _record(sup, case_id, *reported("police"))
    _record(amina, case_id, *reported("child_protection_authority", "CPA 12"))
    assert merge_both(laptops)["conflicts"] == []
    assert CODE not in check_codes(sup, case_id)

    _record(sup, case_id, *reported("police"))  # recorded again, under the reference amina gives too
    _record(amina, case_id, *reported("police"))
    assert merge_both(laptops)["conflicts"] == []  # one report, recorded on both copies under one reference

    first = _record(sup, case_id, *reported("police", "OB 77/1"))
    second = _record(amina, case_id, *reported("police", "OB 77/2"))
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [(CODE, sorted([first, second]))]
    message = _message(sup, case_id)
    assert "to the same authority (police)" in message and f"cpcm correct {case_id} RECORD --set reference=" in message
    _no_words(laptops, message)



def test_the_rule_of_a_clash__two_authorities_named_with_other_are_two__each_copys_latest_decision_compared():
    from cpcm.workflow.mandatory_report import clash

    police = {"decision": "reported", "to": "police", "reference": "OB 1"}
    other = {"decision": "reported", "to": "other", "to_other": "Ward  Chief", "reference": "W 1"}
    assert clash({"01A": police}, {"01B": dict(police, reference=" ob  1 ")}) == ([], {})  # one report, one reference
    assert clash({"01A": other}, {"01B": dict(other, to_other="District Officer", reference="D 2")}) == ([], {})
    assert clash({"01A": other}, {"01B": dict(other, to_other="ward chief", reference="W 2")}) == (
        ["01A", "01B"], {"reported": ["01A", "01B"], "authorities": ["other"]})
    # each copy's latest decision: not reported on one after a report there, against a report on the other
    assert clash({"01A": police, "01C": {"decision": "not_reported"}}, {"01B": dict(police, to="child_protection_authority")}) == (
        ["01B", "01C"], {"reported": ["01B"]})
    assert clash({"01A": {"decision": "not_reported"}}, {"01B": {"decision": "not_reported"}}) == ([], {})


def test_the_rule_of_a_decision_not_to_report_set_aside__the_same_whichever_of_the_two_is_later():
    """workflow.mandatory_report: the report written apart sets aside a decision not to report
    that waits (or was rejected), whether it is the later record or the earlier; one approved on its
    copy stands, even where the approval comes after the report in the records' order."""
    from cpcm.domain.records import Record
    from cpcm.workflow.mandatory_report import decided, reported_apart, set_aside, summary

    def record(record_id: str, decision: str) -> Record:
        return Record("mandatory_report", 1, record_id, "CP-X", "2026-11-23T06:00:00Z", "2026-11-23T06:00:00Z", "amina",
                      {"decision": decision, "needs_approval": decision == "not_reported"})

    records, reported = ["01A", "01B"], ["01B"]
    later_decision = summary(record("01A", "not_reported"), summary(record("01B", "reported")))
    later_report = summary(record("01B", "reported"), summary(record("01A", "not_reported")))
    for latest in (later_decision, later_report):
        assert set_aside(reported_apart(latest, records, reported)) == ("01A", "01B")
    # the report later, and the approval of the decision not to report on its copy later still: it stands
    approved = decided(later_report, "01A", "2026-11-23T07:00:00Z", "sup", True)
    assert set_aside(reported_apart(approved, records, reported)) is None
    assert approved["record_id"] == "01B" and approved["replaced"]["approved"] is True
    rejected = decided(later_report, "01A", "2026-11-23T07:00:00Z", "sup", False)  # "report it": it was
    assert set_aside(reported_apart(rejected, records, reported)) == ("01A", "01B")
