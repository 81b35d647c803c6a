"""A transfer whose receipt never comes back: on the sending worker's `cpcm due` (code
`transfer-ack`, rule `transfer_ack`), due `transfer_ack.limit` (14 days) after the bundle was
written, URGENT once overdue and `transfer-ack-overdue` in `cpcm check`, until the receiving
agency's receipt is recorded (`cpcm transfer-ack`) or the case is reopened here. Two agencies,
through the CLI."""
from __future__ import annotations

from test_transfer import REASON, approved_case

DAY_1 = "2026-11-24T09:00:00+03:00"    # the transfer is written at NOW (2026-11-23 09:00); the limit is 2026-12-07 09:00
DAY_13 = "2026-12-06T09:00:00+03:00"
DAY_14 = "2026-12-07T09:00:00+03:00"
DAY_15 = "2026-12-08T09:00:00+03:00"
TITLE = "transfer receipt not acknowledged: follow up with recv"


def transferred(sending, cli_as, tmp_env) -> tuple[str, object]:
    """A case transferred to 'recv' at NOW by amina, after sup approved it: its id and the bundle."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = approved_case(amina, sup)
    bundle = tmp_env / "bundle.age"
    sent = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert sent.code == 0 and sent.json()["kind"] == "transfer", sent.stderr
    return case_id, bundle


def items(cli, case_id: str, *args: str) -> list[dict]:
    listed = cli("due", "--json", *args)
    assert listed.code == 0, listed.stderr
    return [i for i in listed.json() if i["case_id"] == case_id]


def test_due__after_the_limit_urgent_and_in_check_not_before_and_not_after_the_receipt(sending, receiving, cli_as, tmp_env):
    case_id, bundle = transferred(sending, cli_as, tmp_env)
    at = lambda now: cli_as("amina", CPCM_NOW=now)  # noqa: E731

    # the day after: nothing on the morning list (the limit is two weeks away); looking a month ahead, it is there
    assert items(at(DAY_1), case_id) == []
    ahead = items(at(DAY_1), case_id, "--within", "30")
    assert [(i["code"], i["title"], i["state"], i["owner"], i["rule"]) for i in ahead] == [
        ("transfer-ack", TITLE, "upcoming", "amina", "transfer_ack")], ahead
    assert ahead[0]["due"] == "2026-12-07T09:00+03:00"
    assert "cpcm's choice" in ahead[0]["source"] and "IAG Step 6" in ahead[0]["source"]

    # a day before the limit: due soon, not urgent, not overdue, no problem in check
    soon = items(at(DAY_13), case_id)
    assert [(i["code"], i["title"], i["state"]) for i in soon] == [("transfer-ack", TITLE, "due_soon")], soon
    assert items(at(DAY_13), case_id, "--overdue") == []
    assert at(DAY_13)("check", case_id).code == 0
    assert items(at(DAY_14), case_id)[0]["state"] == "due_soon"  # at the limit itself: not yet late

    # after the limit: overdue and URGENT, first on the list, with what to run; an error in check
    late = at(DAY_15)
    listed = late("due", "--json").json()
    assert listed[0]["case_id"] == case_id and listed[0]["code"] == "transfer-ack", listed
    assert listed[0]["title"] == "URGENT: " + TITLE and listed[0]["state"] == "overdue"
    assert "cpcm transfer-ack RECEIPT" in listed[0]["why"] and f"cpcm reopen {case_id}" in listed[0]["why"]
    assert [i["code"] for i in items(late, case_id, "--overdue")] == ["transfer-ack"]
    text = late("due")
    assert "URGENT: " + TITLE in text.stdout, text.stdout
    checked = late("check", case_id, "--json")
    assert checked.code == 1
    assert [(p["code"], p["severity"], p["worker"]) for p in checked.json()] == [("transfer-ack-overdue", "error", "amina")]
    # the supervisors: on every case's list, and counted at the end of a supervisor's own
    sup = cli_as("sup", CPCM_NOW=DAY_15)
    assert [i["code"] for i in items(sup, case_id, "--worker", "all")] == ["transfer-ack"]
    assert items(sup, case_id) == []  # the sending worker's, not every supervisor's
    assert "overdue on the team's lists" in sup("due").stderr

    # the receiving agency receives the case and sends its receipt; recorded, the item is gone
    receipt = tmp_env / "receipt.age"
    assert receiving.as_("wanjiru")("receive", str(bundle), "--receipt", str(receipt)).code == 0
    assert late("transfer-ack", str(receipt)).code == 0
    assert items(late, case_id, "--within", "60") == []
    assert late("check", case_id).code == 0


def test_due__the_case_reopened_here_ends_it_a_withdrawal_does_not(sending, cli_as, tmp_env):
    """The bundle written, the transfer can no longer be taken back (the withdrawal is refused, and
    the item stays); the case reopened here (it came back, or never reached the other agency) ends
    it."""
    case_id, _ = transferred(sending, cli_as, tmp_env)
    amina = cli_as("amina", CPCM_NOW=DAY_15)
    withdrawn = amina("transfer", case_id, "--withdraw", "--reason", "the family stayed", "--json")
    assert withdrawn.code != 0, withdrawn.stdout
    assert [i["code"] for i in items(amina, case_id)] == ["transfer-ack"]
    assert amina("reopen", case_id, "--reason", "the family came back").code == 0
    assert "transfer-ack" not in [i["code"] for i in items(amina, case_id, "--within", "60")]
    assert "transfer-ack-overdue" not in [p["code"] for p in amina("check", case_id, "--json").json()]


def test_policy__an_agency_sets_its_own_limit_and_a_bad_one_is_refused(sending, cli_as, tmp_env):
    sup = cli_as("sup")
    bad = tmp_env / "bad.yaml"
    bad.write_text("rules:\n  transfer_ack:\n    limit: soon\n")
    refused = sup("policy", "check", str(bad))
    assert refused.code == 4 and "rules.transfer_ack.limit" in refused.stderr, refused.stderr
    negative = tmp_env / "negative.yaml"
    negative.write_text("rules:\n  transfer_ack:\n    limit: -3d\n")
    assert sup("policy", "check", str(negative)).code == 4
    good = tmp_env / "good.yaml"
    good.write_text("rules:\n  transfer_ack:\n    limit: 30d\n")
    assert sup("policy", "check", str(good)).code == 0
    assert sup("policy", "set", str(good)).code == 0

    case_id, _ = transferred(sending, cli_as, tmp_env)
    [item] = items(cli_as("amina", CPCM_NOW=DAY_15), case_id, "--within", "60")
    assert item["state"] == "upcoming" and item["due"] == "2026-12-23T09:00+03:00" and item["title"] == TITLE, item
    assert "changed by this agency" in item["source"], item["source"]


def test_team_remove__a_transferred_case_waiting_for_its_receipt_goes_to_the_supervisors(sending, cli_as, tmp_env):
    """The sending worker leaves: nobody follows the receipt up, so it is on every supervisor's list,
    with what they can do (a transferred case cannot be assigned: they record the receipt, or
    reopen the case), and `team remove` names the case."""
    case_id, _ = transferred(sending, cli_as, tmp_env)
    sup = cli_as("sup")
    removed = sup("team", "remove", "amina", "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["receipts_left"] == [case_id] and removed.json()["visits_left"] == []
    later = cli_as("sup", CPCM_NOW=DAY_15)
    [item] = items(later, case_id)
    assert item["code"] == "transfer-ack" and item["worker_removed"] is True
    text = later("due").stdout
    assert "cpcm transfer-ack RECEIPT" in text and "cpcm assign" not in text, text
    problems = [p for p in later("check", case_id, "--json").json() if p["code"] == "case-worker-removed"]
    assert len(problems) == 1 and "follows up its transfer receipt" in problems[0]["message"], problems
    assert "cpcm transfer-ack RECEIPT" in problems[0]["message"]
