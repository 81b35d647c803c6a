"""`cpcm show CASE` lists the case's assessments in force as it lists its consents and reviews:
in the order written, a correction standing in the place of the assessment it corrected (not at
the end of the list), with what a reassessment changed since the one before it of its type, in
that order. Piped (the `# Case` table's assessment rows) and with --json (an `assessments` list).
Through the CLI; by the same order (service.case_content), in the memory repository: the needs of
the latest comprehensive assessment (`service gaps`) and the content of the plan `show` gives."""
from __future__ import annotations

import json

from conftest import register
from cpcm import service
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL
from test_show_reviews import at

LATER = "2027-01-16T10:00:00+03:00"


def assessment_rows(text: str) -> list[tuple[str, str]]:
    """The assessment rows of the piped `# Case` table: (field, record ID) in their order."""
    case = text.split("# Case")[1].split("\n\n")[0].splitlines()
    rows = [line.split("\t") for line in case if "\t" in line]
    return [(field, value.split("(")[-1].split(")")[0]) for field, value in rows if field.endswith(" assessment")]


def test_show__a_corrected_assessment_gives_way_to_its_correction_in_its_place(cli):
    """Initial, reassessed (initial again), comprehensive; then the first corrected: the correction
    stands first, where the first stood, and the reassessment's changes are counted against it."""
    case_id = register(cli)
    written = []
    for args, data in ((("--type", "initial", "--risk", "high", *INITIAL), None),
                       (("--type", "initial", "--risk", "high", *[a.replace("safe=yes", "safe=no") for a in INITIAL]), None),
                       (("--type", "comprehensive", "--from-file", "-"), json.dumps(COMPREHENSIVE))):
        result = cli("assess", case_id, *args, "--json", input=data)
        assert result.code == 0, result.stderr
        written.append(result.json()["record_id"])
    first, again, comprehensive = written
    later = at(cli, LATER)
    fixed = later("correct", case_id, first, "--set", "basic_needs.food=yes", "--reason", "typed wrong", "--json")
    assert fixed.code == 0, fixed.stderr
    correction = fixed.json()["record_id"]

    data = later("show", case_id, "--json").json()
    assert [(a["record_id"], a["type"]) for a in data["assessments"]] == [
        (correction, "initial"), (again, "initial"), (comprehensive, "comprehensive")]
    assert "changed" not in data["assessments"][0]  # the first of its type, as corrected
    assert data["assessments"][1]["changed"] == [{"field": "basic_needs.food", "change": "changed"},
                                                 {"field": "safe", "change": "changed"}]  # since the corrected first one
    assert assessment_rows(later("show", case_id).stdout) == [
        ("initial assessment", correction), ("initial assessment", again), ("comprehensive assessment", comprehensive)]


def test_service_gaps__the_needs_of_the_latest_comprehensive_assessment_in_force_not_of_a_later_correction():
    """A comprehensive assessment, a reassessment, then the first corrected: the latest in force
    is still the reassessment (as `assessment@comprehensive` finds it), and its needs are counted."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    base = {"dimensions": {"physical": {"risks": "x"}}, "child_views": "x", "outcome_explained_to_child": "yes",
            "consulted": ["child"]}
    first = service.assess(amina, case_id, "comprehensive", {**base, "needs": ["birth certificate"]}).record_id
    service.assess(amina, case_id, "comprehensive", {**base, "needs": ["school fees"]})
    service.correct(amina, case_id, first, {"child_views": "y"}, "typed wrong")
    assert {g["need"] for g in service.service_gaps(amina)} == {"school fees"}


def test_show__the_plans_content_is_the_latest_versions_when_an_earlier_version_is_corrected_after_it():
    """Version 1 approved, version 2 written (waiting), then version 1 corrected: the plan `show`
    gives is version 2 (the fold's), and so is its content, not the correction of version 1 written
    last (the records in force in their order, as the assessments)."""
    from test_plan_revision import approved_case

    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"actions": {"A1": {"by": "2027-01-31"}}})
    # by the supervisor: version 1 is approved, and what was approved is corrected only by one who may decide it
    service.correct(mem.as_("sup"), case_id, "plan@1", {"contingency": "Kept on file."}, "wording")
    plan = service.show(amina, case_id)["plan"]
    assert plan["version"] == 2 and plan["content"]["reason"] == "review"
    assert plan["content"]["contingency"] != "Kept on file." and str(plan["content"]["actions"][0]["by"]) == "2027-01-31"
