"""Pure tests of the checks of a transfer request (cpcm.workflow.transfers): each field's error
in full, the checklist, the refused reason, and where the approval stands at each boundary
(docs/testing.md, "Mutation testing")."""
from __future__ import annotations

import pytest

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record
from cpcm.errors import InvalidInput, Refused
from cpcm.workflow import transfers as tr

POLICY = Policy("t", "T", {"transfer": {"checklist": ["file_complete", "consent_recorded"],
                                        "refused_reasons": ["difficult_case", "other"]}})
BARE = Policy("t", "T", {})


def fields(errors) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in errors]


def test_checklist_of():
    assert tr.checklist_of(POLICY) == ["file_complete", "consent_recorded"]
    assert tr.checklist_of(BARE) == []


def test_reason_codes():
    assert tr.REASON_CODES == ("better_service", "relocation", "agency_exit", "specialised_service", "difficult_case", "other")


def test_request_problems__the_confirmed_checklist_once_each_in_the_order_given():
    assert tr.request_problems(POLICY, "agency-2", "closer to school", "relocation",
                               ["consent_recorded", "file_complete", "consent_recorded"]) == (["consent_recorded", "file_complete"], [])
    assert tr.request_problems(POLICY, "agency-2", "closer", "relocation", ["all"]) == (["file_complete", "consent_recorded"], [])
    assert tr.request_problems(BARE, "a", "closer", "other", []) == ([], [])


def test_request_problems__every_bad_field_named():
    errors = tr.request_problems(POLICY, "-bad", "  ", "nope", ["file_complete", "made_up"])[1]
    assert fields(errors) == [
        ("to", "names the receiving agency by its code or its service id in the directory (letters, digits, '.', '_' or '-', "
               "at most 32)"),
        ("reason", "is required: the good cause, and why the other agency will serve the child better"),
        ("reason_code", "is not one of: better_service, relocation, agency_exit, specialised_service, difficult_case, other"),
        ("check", "is not one of: file_complete, consent_recorded (or all)"),
        ("check.consent_recorded", "is required before a transfer (file review): confirm it with --check consent_recorded"),
    ]


def test_request_problems__a_misspelt_item_beside_all_is_refused():
    """'all' confirms every item, but a value beside it that is not an item is still refused."""
    errors = tr.request_problems(POLICY, "agency-2", "closer", "relocation", ["all", "file_complet"])[1]
    assert fields(errors) == [("check", "is not one of: file_complete, consent_recorded (or all); did you mean 'file_complete'?")]


@pytest.mark.parametrize("to", [None, "", "a" * 33, "a b"])
def test_request_problems__a_receiving_agency_that_is_not_a_code(to):
    errors = tr.request_problems(POLICY, to, "closer", "relocation", ["all"])[1]
    assert [f for f, _ in fields(errors)] == ["to"]


def test_request_problems__a_code_of_32_characters_and_no_reason():
    assert tr.request_problems(POLICY, "a" * 32, "closer", "relocation", ["all"]) == (["file_complete", "consent_recorded"], [])
    errors = tr.request_problems(POLICY, "a", None, "relocation", ["all"])[1]
    assert [f for f, _ in fields(errors)] == ["reason"]


def test_request_problems__a_reason_the_policy_refuses():
    with pytest.raises(Refused) as raised:
        tr.request_problems(POLICY, "agency-2", "hard to help", "difficult_case", ["all"])
    assert not isinstance(raised.value, InvalidInput)
    assert raised.value.rule == "transfer-reason-refused"
    assert raised.value.to_json()["rule"] == "transfer-reason-refused"
    assert str(raised.value).startswith(
        "a transfer for the reason 'difficult_case' alone is refused by the policy (transfer.refused_reasons)")
    assert raised.value.hint == ("The guidelines: never transfer only because the child's needs are challenging; a transfer "
                                 "needs good cause and a clear indication of better service. Give that reason and its code.")
    assert tr.request_problems(BARE, "agency-2", "hard", "difficult_case", []) == ([], [])
    # a reason refused beside a bad field: the fields are named first, as one refusal
    assert [f for f, _ in fields(tr.request_problems(POLICY, "-bad", "hard", "difficult_case", ["all"])[1])] == ["to"]


def rec(kind, id_) -> Record:
    return Record(kind, 1, id_, "CP-0000-0000", "2026-11-01T09:00:00+03:00", "2026-11-01T06:00:00+00:00", "amina", {})


def request(**fields):
    values = {"record_id": "01B", "to": "agency-2", "decided_at": None}
    values.update(fields)
    return Case("CP-0000-0000", transfer_request=values)


def test_approval_state__each_state():
    records = [rec("registration", "01A"), rec("transfer_request", "01B")]
    assert tr.approval_state(request(), records, "agency-2", False) == ("not_required", None)
    assert tr.approval_state(Case("CP-0000-0000"), records, "agency-2", True) == ("none", None)
    assert tr.approval_state(request(), records, "agency-2", True) == ("pending", request().transfer_request)
    rejected = request(decided_at="t", approved=False)
    assert tr.approval_state(rejected, records, "agency-2", True) == ("rejected", rejected.transfer_request)
    approved = request(decided_at="t", approved=True)
    assert tr.approval_state(approved, records, "agency-2", True) == ("approved", approved.transfer_request)
    assert tr.approval_state(approved, records, "agency-3", True) == ("other_agency", approved.transfer_request)
    assert tr.approval_state(request(decided_at="t"), records, "agency-2", True)[0] == "rejected"


def test_approval_state__a_request_from_before_the_latest_transfer_no_longer_counts():
    approved = request(decided_at="t", approved=True)
    for kind in ("transfer", "transfer_in"):
        assert tr.approval_state(approved, [rec(kind, "01B")], "agency-2", True) == ("none", None)
        assert tr.approval_state(approved, [rec(kind, "01C")], "agency-2", True) == ("none", None)
        assert tr.approval_state(approved, [rec(kind, "01A")], "agency-2", True)[0] == "approved"
    assert tr.approval_state(approved, [rec("closure", "01C")], "agency-2", True)[0] == "approved"
    assert tr.approval_state(approved, [rec("transfer", "01A"), rec("transfer_in", "01C")], "agency-2", True) == ("none", None)


def test_earlier_transfers():
    records = [rec("transfer", "01A"), rec("transfer_in", "01B"), rec("transfer_request", "01C"), rec("transfer", "01D")]
    assert tr.earlier_transfers(records) == 3
    assert tr.earlier_transfers([]) == 0
