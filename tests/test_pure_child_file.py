"""The child's own file, pure (cpcm/workflow/child_file.py): which records and fields are the
child's own, which are other people's, and which kept free text the worker must read."""
from __future__ import annotations

from cpcm.workflow import child_file


def entry(kind, record_id="01A", fields=None, answers=(), **extra):
    return {"kind": kind, "record_id": record_id, "fields": dict(fields or {}),
            "answers": [dict(a) for a in answers], **extra}


def test_record_section__other_people_s_records_and_unknown_kinds_are_left_out():
    assert child_file.record_section(entry("note")) == "notes"
    assert child_file.record_section(entry("case_link")) == "siblings"
    assert child_file.record_section(entry("mandatory_report")) == "mandatory_reports"
    assert child_file.record_section(entry("tracing")) == "caregivers"
    assert child_file.record_section(entry("an_agency_kind")) == "other"  # not known to be the child's: not given
    assert child_file.record_section(entry("consent", fields={"given_by": "caregiver"})) == "caregivers"
    assert child_file.record_section(entry("consent", fields={"given_by": "child"})) is None
    assert child_file.record_section(entry("approval", fields={"subject": "mandatory_report"})) == "mandatory_reports"
    assert child_file.record_section(entry("approval", fields={"subject": "plan"})) is None
    for kind in ("registration", "assessment", "plan", "review", "child_file_release"):
        assert child_file.record_section(entry(kind)) is None, kind


def test_field_section__caregivers_reporter_providers_and_notes():
    assert child_file.field_section("registration", "caregiver.name") == "caregivers"
    assert child_file.field_section("update", "contact") == "caregivers"
    assert child_file.field_section("registration", "identified_by") == "reporter"
    assert child_file.field_section("registration", "consent.caregiver") == "caregivers"
    assert child_file.field_section("registration", "consent.child") is None
    assert child_file.field_section("registration", "caregiverish") is None  # a path, not a prefix of letters
    assert child_file.field_section("referral_update", "feedback") == "providers"
    assert child_file.field_section("assessment", "notes") == "notes"
    assert child_file.field_section("assessment", "child_views") is None


def test_is_free_text__words_not_codes_dates_or_ids():
    for typed in ("the uncle hits the child", "Wanjiru", ["school", "a uniform"]):
        assert child_file.is_free_text(typed), typed
    for code in ("home_visit", "R1", "2026-11-23", "2026-11-23T09:00:00+03:00", "CP-4F7K-9X2N", 3, True, None, "", ["neglect"]):
        assert not child_file.is_free_text(code), code


def test_screen__counts_by_section_lists_free_text_and_leaves_out_what_the_worker_chose():
    records = [
        entry("registration", "01A", answers=[{"field": "child.name", "label": "Name", "value": "Neema"},
                                              {"field": "caregiver.name", "value": "X"},
                                              {"field": "identified_by", "value": "community_member"}]),
        entry("assessment", "01B", answers=[{"field": "safety_concerns", "label": "Unsafe", "value": "x", "typed": True},
                                            {"field": "risk", "value": "high", "typed": False}]),
        entry("note", "01C"),
        entry("plan", "01D", answers=[{"field": "contingency", "label": "Contingency", "value": "y", "typed": True}]),
    ]
    screened = child_file.screen(records, ["01D"])
    assert [e["record_id"] for e in screened.kept] == ["01A", "01B"]
    assert [a["field"] for a in screened.kept[0]["answers"]] == ["child.name"]
    assert screened.summary() == {"reporter": {"records": 0, "fields": 1}, "caregivers": {"records": 0, "fields": 1},
                                  "notes": {"records": 1, "fields": 0}, "screened": {"records": 1, "fields": 0}}
    assert screened.free_text == [{"record_id": "01B", "kind": "assessment", "fields": ["Unsafe"]}]  # not the child's name
    assert screened.left_out_records == [{"record_id": "01C", "kind": "note", "section": "notes"},
                                         {"record_id": "01D", "kind": "plan", "section": "screened"}]
