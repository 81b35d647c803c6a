"""Two transfer requests of one case written apart on two copies, and synced: each decision is of
the request it names, one taken back or rejected leaves the other waiting, and the sync flags the
two (`two-transfers`) until a decision, a withdrawal or a note settles it, as for two closures."""
from __future__ import annotations

import json

from conftest import NOW, Cli, settling_said
from test_sync import check_codes, due_codes, folded, laptops, merge_both, shared_case  # noqa: F401 (laptops: a fixture)

TO_RECV = ("--to", "recv", "--reason", "the family moved to the receiving agency's area", "--reason-code", "relocation",
           "--check", "all")
TO_OTHER = ("--to", "AGB7", "--reason", "a specialised service there", "--reason-code", "specialised_service",
            "--check", "all")


def consented(cli: Cli, case_id: str) -> None:
    for agency in ("recv", "AGB7"):
        for giver in ("child", "caregiver"):
            done = cli("consent", case_id, "--purpose", "transfer", "--agency", agency, "--status", "given",
                       "--explained", "all", "--by", giver)
            assert done.code == 0, done.stderr


def two_copies(laptops, team):
    """amina's laptop and the office copy (the supervisor's, where amina works too), one case of
    hers with consent to a transfer to either agency, on both."""
    amina, sup, case_id = shared_case(laptops)
    consented(amina, case_id)
    laptops.sync("amina")
    laptops.sync("sup")
    office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    return amina, office, sup, sup_away, case_id


def requested(cli: Cli, case_id: str, options) -> str:
    done = cli("transfer", case_id, *options, "--json")
    assert done.code == 0 and done.json()["kind"] == "transfer_request", done.stderr
    return done.json()["record_id"]


def conflict_message(cli: Cli, case_id: str, code: str) -> str:
    return next(p["message"] for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == code)


def test_two_transfer_requests_written_apart_are_a_conflict_check_reports_with_its_way_out(laptops, team):
    amina, office, sup, _, case_id = two_copies(laptops, team)
    first = requested(office, case_id, TO_OTHER)
    later = requested(amina, case_id, TO_RECV)
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [("two-transfers", sorted([first, later]))]
    for cli in (sup, amina):
        assert "two-transfers" in check_codes(cli, case_id)
    advice = conflict_message(sup, case_id, "two-transfers")
    assert f"cpcm approve|reject {case_id} transfer" in advice and f"cpcm transfer {case_id} --withdraw" in advice
    assert "AGB7" not in advice  # an agency typed outside the directory is not repeated
    case = folded(laptops, "sup", case_id)
    assert case.transfer_request["record_id"] == later and case.transfer_request["earlier"]["record_id"] == first
    assert "transfer-approval" in due_codes(sup, case_id)


def test_an_approval_made_apart_approves_the_request_it_names_not_the_other(laptops, team):
    """The supervisor approved the office request (to one agency) on the office copy; amina asked
    on her laptop for another agency. After the merge the approved request is the one he approved:
    the case is not sent to the agency nobody approved."""
    amina, office, sup, _, case_id = two_copies(laptops, team)
    first = requested(office, case_id, TO_OTHER)
    later = requested(amina, case_id, TO_RECV)
    assert sup("approve", case_id, "transfer").code == 0  # of the office request: the one his copy holds
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["two-transfers"]
    for worker in ("sup", "amina"):
        case = folded(laptops, worker, case_id)
        request = case.transfer_request
        assert (request["record_id"], request["to"], request["approved"]) == (first, "AGB7", True), request
    # the bundle to the agency nobody approved is refused: a new request for it is recorded instead
    asked = amina("transfer", case_id, *TO_RECV, "--recipient", team["otieno"][1], "--out", str(laptops.tmp / "b.age"), "--json")
    assert asked.code in (0, 4) and not (laptops.tmp / "b.age").exists(), asked.stdout
    del later


def _two_requests_merged(laptops, team):
    """Two copies, each with a transfer request of the same case (the office's to the other agency
    first, amina's later), merged both ways: (amina, sup, case_id, the office's request)."""
    amina, office, sup, _, case_id = two_copies(laptops, team)
    first = requested(office, case_id, TO_OTHER)
    requested(amina, case_id, TO_RECV)
    merge_both(laptops)
    return amina, sup, case_id, first


def _steps(result) -> str:
    assert result.code == 0, result.stderr
    return " ".join(result.json().get("next_steps") or ())


def test_rejecting_one_of_two_requests_merged_leaves_the_other_waiting_and_settles_the_conflict(laptops, team):
    amina, sup, case_id, first = _two_requests_merged(laptops, team)
    rejected = sup("reject", case_id, "transfer", "--note", "asked twice", "--json")
    steps = _steps(rejected)
    assert "the transfer requested by amina still waits" in steps and "settles the sync conflict (two-transfers)" in steps
    assert len(settling_said(rejected, "two-transfers")) == 1, rejected.json()
    case = folded(laptops, "sup", case_id)
    assert (case.transfer_request["record_id"], case.transfer_request["decided_at"]) == (first, None)
    assert "two-transfers" not in check_codes(sup, case_id) and "transfer-approval" in due_codes(sup, case_id)
    assert sup("approve", case_id, "transfer").code == 0
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["approved"]) == (first, True)


def test_withdrawing_one_of_two_requests_merged_leaves_the_other_waiting_and_settles_the_conflict(laptops, team):
    amina, sup, case_id, first = _two_requests_merged(laptops, team)
    withdrawn = amina("transfer", case_id, "--withdraw", "--reason", "asked twice, on two copies", "--json")
    steps = _steps(withdrawn)
    assert "still waits" in steps and "settles the sync conflict (two-transfers)" in steps
    assert len(settling_said(withdrawn, "two-transfers")) == 1, withdrawn.json()
    case = folded(laptops, "amina", case_id)
    assert (case.transfer_request["record_id"], case.transfer_request["decided_at"]) == (first, None)
    assert "two-transfers" not in check_codes(amina, case_id)
    merge_both(laptops)
    assert check_codes(sup, case_id) == [] and "transfer-approval" in due_codes(sup, case_id)


def test_two_workers_requests__either_takes_back_their_own_and_the_other_stands(laptops, team):
    amina, _, sup, _, case_id = two_copies(laptops, team)
    requested(sup, case_id, TO_OTHER)
    later = requested(amina, case_id, TO_RECV)
    merge_both(laptops)
    withdrawn = sup("transfer", case_id, "--withdraw", "--reason", "amina asked for it too")
    assert withdrawn.code == 0, withdrawn.stderr
    assert "settles the sync conflict (two-transfers)" in withdrawn.stdout + withdrawn.stderr
    assert len(settling_said(withdrawn, "two-transfers")) == 1, withdrawn.stderr
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["by"], request["decided_at"]) == (later, "amina", None)
    again = sup("transfer", case_id, "--withdraw", "--reason", "again", "--json")  # hers is not his to take back
    assert again.code == 4 and again.json()["rule"] == "withdraw-own-only"


def test_a_request_rejected_before_the_merge_leaves_the_other_waiting_and_is_no_conflict(laptops, team):
    amina, office, sup, sup_away, case_id = two_copies(laptops, team)
    first = requested(office, case_id, TO_OTHER)
    requested(amina, case_id, TO_RECV)
    assert sup_away("reject", case_id, "transfer", "--note", "not that agency").code == 0
    merged = merge_both(laptops)
    assert merged["conflicts"] == [] and check_codes(sup, case_id) == []
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["decided_at"]) == (first, None)
    assert "transfer-approval" in due_codes(sup, case_id)


def test_a_request_withdrawn_on_its_own_copy_before_the_sync_does_not_take_the_other_with_it(laptops, team):
    amina, office, sup, _, case_id = two_copies(laptops, team)
    requested(office, case_id, TO_OTHER)
    later = requested(amina, case_id, TO_RECV)
    assert office("transfer", case_id, "--withdraw", "--reason", "asked on her laptop instead").code == 0
    merged = merge_both(laptops)
    assert merged["conflicts"] == [] and check_codes(sup, case_id) == []
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["decided_at"]) == (later, None)


def test_a_decision_of_a_request_withdrawn_on_the_other_copy_decides_nothing_and_is_out_of_order(laptops, team):
    """amina took her request back on her laptop while the supervisor approved it on the office
    copy: after the merge nothing is approved, and check says the approval came out of order."""
    amina, _, sup, _, case_id = two_copies(laptops, team)
    requested(amina, case_id, TO_RECV)
    laptops.sync("amina")
    laptops.sync("sup")
    assert amina("transfer", case_id, "--withdraw", "--reason", "the family stays").code == 0
    assert sup("approve", case_id, "transfer").code == 0
    merge_both(laptops)
    case = folded(laptops, "sup", case_id)
    assert case.transfer_request is None
    assert "transition-out-of-order" in check_codes(sup, case_id)
    assert "approved-transfer" not in due_codes(sup, case_id)


def test_the_approved_request_left_after_a_merge_is_carried_out_and_acknowledged(laptops, team, receiving):
    amina, office, sup, _, case_id = two_copies(laptops, team)
    requested(office, case_id, TO_OTHER)
    later = requested(amina, case_id, TO_RECV)
    merge_both(laptops)
    approved = sup("approve", case_id, "transfer", "--json")  # the latest: amina's, to recv
    assert approved.code == 0, approved.stderr
    steps = " ".join(approved.json().get("next_steps") or ())
    assert "no longer waits" in steps and "settles the sync conflict (two-transfers)" in steps
    assert len(settling_said(approved, "two-transfers")) == 1, approved.json()
    laptops.sync("sup")
    laptops.sync("amina")
    assert check_codes(amina, case_id) == []
    bundle, receipt = laptops.tmp / "bundle.age", laptops.tmp / "receipt.age"
    sent = amina("transfer", case_id, *TO_RECV, "--recipient", receiving.keys["wanjiru"][1], "--out", str(bundle), "--json")
    assert sent.code == 0 and sent.json()["kind"] == "transfer" and bundle.is_file(), sent.stderr
    log = amina("log", case_id, "--json").json()
    assert log[-1]["kind"] == "transfer"
    got = receiving.as_("wanjiru")("receive", str(bundle), "--receipt", str(receipt), "--json")
    assert got.code == 0, got.stderr
    acked = amina("transfer-ack", str(receipt), "--json")
    assert acked.code == 0, acked.stderr
    assert amina("show", case_id, "--json").json()["status"] == "transferred"
    del later


def _approved_then_asked_apart(laptops, team):
    """The supervisor approved the office request (to the other agency) on the office copy; amina,
    on her laptop, asked for another agency after that, so later in record order; merged both ways:
    (amina, sup, case_id, the approved request, the later request)."""
    amina, office, sup, _, case_id = two_copies(laptops, team)
    first = requested(office, case_id, TO_OTHER)
    assert sup("approve", case_id, "transfer").code == 0
    later = requested(amina, case_id, TO_RECV)
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["two-transfers"] and first < later
    return amina, sup, case_id, first, later


def test_a_request_made_apart_over_one_approved_keeps_the_approval__rejected_the_approved_one_stands(laptops, team):
    amina, sup, case_id, first, later = _approved_then_asked_apart(laptops, team)
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["decided_at"], request["earlier"]["record_id"], request["earlier"]["approved"]) == \
        (later, None, first, True)
    assert f"it was made over the request approved on the other copy ({first})" in conflict_message(sup, case_id, "two-transfers")
    assert "transfer-approval" in due_codes(sup, case_id)
    steps = _steps(sup("reject", case_id, "transfer", "--note", "the family stays near", "--json"))
    assert f"the transfer approved before it ({first}) stands again" in steps and "settles the sync conflict (two-transfers)" in steps
    merge_both(laptops)
    for worker in ("sup", "amina"):
        request = folded(laptops, worker, case_id).transfer_request
        assert (request["record_id"], request["to"], request["approved"], "earlier" in request) == (first, "AGB7", True, False)
    assert check_codes(sup, case_id) == [] and "approved-transfer" in due_codes(amina, case_id)


def test_a_request_made_apart_over_one_approved__withdrawn_the_approved_one_stands(laptops, team):
    amina, sup, case_id, first, later = _approved_then_asked_apart(laptops, team)
    steps = _steps(amina("transfer", case_id, "--withdraw", "--reason", "asked on the office copy already", "--json"))
    assert f"the transfer approved before it ({first}) stands again" in steps and "settles the sync conflict (two-transfers)" in steps
    request = folded(laptops, "amina", case_id).transfer_request
    assert (request["record_id"], request["approved"]) == (first, True) and check_codes(amina, case_id) == []


def test_a_request_made_apart_over_one_approved__approved_it_goes_instead(laptops, team):
    amina, sup, case_id, first, later = _approved_then_asked_apart(laptops, team)
    steps = _steps(sup("approve", case_id, "transfer", "--json"))
    assert f"the transfer approved before it ({first}) no longer stands" in steps and "settles the sync conflict (two-transfers)" in steps
    request = folded(laptops, "sup", case_id).transfer_request
    assert (request["record_id"], request["to"], request["approved"], "earlier" in request) == (later, "recv", True, False)
    assert check_codes(sup, case_id) == []


def test_one_request_approved_on_one_copy_and_rejected_on_the_other_is_a_conflict__the_first_stands(laptops, team):
    amina, _, sup, sup_away, case_id = two_copies(laptops, team)
    requested(amina, case_id, TO_RECV)
    merge_both(laptops)
    assert sup("approve", case_id, "transfer").code == 0
    assert sup_away("reject", case_id, "transfer", "--note", "the family stays").code == 0
    merged = merge_both(laptops)
    decisions = [e["record_id"] for e in sup("log", case_id, "--json").json() if e["kind"] in ("approval", "rejection")]
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [("decisions-concurrent", decisions)]
    request = folded(laptops, "amina", case_id).transfer_request
    assert request["approved"] is True and "approved-transfer" in due_codes(amina, case_id)
    assert sorted(check_codes(sup, case_id)) == ["decisions-concurrent", "transition-out-of-order"]
    assert f"cpcm transfer {case_id} --withdraw" in conflict_message(sup, case_id, "decisions-concurrent")
    assert sup("note", case_id, "--text", "approved: the rejection was made on a stale copy").code == 0
    assert check_codes(sup, case_id) == []


def test_one_request_approved_the_same_way_on_both_copies_is_no_fault_and_no_conflict(laptops, team):
    """The supervisor approved the request at home on amina's copy and again at the office (the
    first had not come through): after the merge the request is approved once, nothing is out of
    order, and nothing is left for `check`; the approval made at home stands (the first)."""
    amina, _, sup, sup_away, case_id = two_copies(laptops, team)
    asked = requested(amina, case_id, TO_RECV)
    laptops.sync("amina")
    laptops.sync("sup")
    first = sup_away("approve", case_id, "transfer", "--json")
    assert first.code == 0, first.stderr
    assert sup("approve", case_id, "transfer").code == 0
    merged = merge_both(laptops)
    assert merged["conflicts"] == []
    for worker, cli in (("sup", sup), ("amina", amina)):
        assert check_codes(cli, case_id) == [], worker
        request = folded(laptops, worker, case_id).transfer_request
        assert (request["record_id"], request["approved"], request["decided_by"]) == (asked, True, "sup")
        assert folded(laptops, worker, case_id).anomalies == ()


def test_a_note_written_apart_does_not_answer_a_record_out_of_order_it_never_saw(laptops, team):
    """The supervisor approved a transfer request on the office copy that amina had taken back on
    her laptop, where she then wrote a note (later by the clock, on a copy without the approval):
    after the merge check still says the approval came out of order, and only a note written where
    it was seen answers it (the note lists what check reported when it was written)."""
    amina, _, sup, _, case_id = two_copies(laptops, team)
    requested(amina, case_id, TO_RECV)
    laptops.sync("amina")
    laptops.sync("sup")
    assert amina("transfer", case_id, "--withdraw", "--reason", "the family stays").code == 0
    approval = sup("approve", case_id, "transfer", "--json").json()["record_id"]
    apart = amina("note", case_id, "--text", "called the family: they stay", "--json").json()["record_id"]
    assert apart > approval  # later in the records' order than the approval it never saw
    merge_both(laptops)
    for cli in (sup, amina):
        assert "transition-out-of-order" in check_codes(cli, case_id)
    seen = sup("note", case_id, "--text", "checked: the request stays withdrawn", "--json")
    assert seen.code == 0, seen.stderr
    for cli in (sup,):
        assert "transition-out-of-order" not in check_codes(cli, case_id)
    shown = sup("show", case_id, seen.json()["record_id"], "--json").json()
    assert shown["fields"]["seen"] == [approval]
    # the note corrected keeps what it saw (and what it saw is not for a correction to change)
    fixed = sup("correct", case_id, seen.json()["record_id"], "--set", "text=checked: the family stays", "--reason", "typo",
                "--json")
    assert fixed.code == 0, fixed.stderr
    assert "transition-out-of-order" not in check_codes(sup, case_id)
    moved = sup("correct", case_id, fixed.json()["record_id"], "--set", "seen=01ABC", "--reason", "x")
    assert moved.code == 4 and "seen: cannot be changed by a correction" in moved.stderr, moved.stderr
    printed = sup("show", case_id, seen.json()["record_id"]).stdout
    assert approval in printed, printed
    laptops.sync("sup")
    laptops.sync("amina")
    assert "transition-out-of-order" not in check_codes(amina, case_id)
