"""`cpcm show CASE` says what a worker needs on the case's page: why a case stays open past 18
(`cpcm continue`), where a transferred case went and whether its receipt came back (the plan
row saying the plan was this agency's last), a record's times local like the rest of the
screen, and, piped, a blank line between its tables, each headed by its title. `cpcm log` has no stray space before a
correction. Through the CLI."""
from __future__ import annotations

from conftest import register
from test_followup_close import GOALS_MET, planned, visit
from test_transfer import REASON, consent

ADULT = {"name": "Test Child", "sex": "female", "date_of_birth": "2008-11-01", "disability": "no"}  # 18 on NOW
REASON_TEXT = "finishing secondary school; no family support"


def rows(text: str) -> dict[str, str]:
    """The `field<TAB>value` rows of the case table of a piped `cpcm show` (the first table, after
    its title and header lines)."""
    first = text.split("\n\n")[0]
    return dict(line.split("\t", 1) for line in first.splitlines()[2:])


def test_show__a_case_kept_open_past_18_says_why_by_whom_and_when(cli):
    case_id = register(cli, child=ADULT)
    assert "continued past 18" not in rows(cli("show", case_id).stdout)
    assert cli("show", case_id, "--json").json()["continuation"] is None
    kept = cli("continue", case_id, "--justification", REASON_TEXT, "--json")
    assert kept.code == 0, kept.stderr

    shown = rows(cli("show", case_id).stdout)
    assert shown["continued past 18"] == f"2026-11-23 by amina: {REASON_TEXT} ({kept.json()['record_id']})"
    data = cli("show", case_id, "--json").json()["continuation"]
    assert data == {"record_id": kept.json()["record_id"], "at": "2026-11-23T09:00:00+03:00", "by": "amina",
                    "justification": REASON_TEXT, "review_due": None}


def test_show__the_continuation_row_says_when_the_next_case_review_is_due(cli, cli_as):
    case_id = planned(cli, cli_as)  # a plan in force: its review is due three months on
    kept = cli("continue", case_id, "--justification", REASON_TEXT, "--json")
    assert kept.code == 0, kept.stderr
    assert rows(cli("show", case_id).stdout)["continued past 18"] == (
        f"2026-11-23 by amina: {REASON_TEXT}; next case review due 2027-02-23 ({kept.json()['record_id']})")
    assert cli("show", case_id, "--json").json()["continuation"]["review_due"] == "2027-02-23T09:00+03:00"


def sent(sending, cli_as, tmp_env) -> tuple[str, object]:
    """A planned case of amina's, its transfer to 'recv' approved by sup and written at NOW."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = planned(amina, cli_as)
    consent(amina, case_id)
    assert amina("transfer", case_id, *REASON, "--check", "all").code == 0
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "bundle.age"
    written = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle))
    assert written.code == 0, written.stderr
    return case_id, bundle


def test_show__a_transferred_case_says_where_it_went_and_whether_the_receipt_came_back(sending, receiving, cli_as, tmp_env):
    amina = cli_as("amina")
    case_id, bundle = sent(sending, cli_as, tmp_env)
    transfer_id = amina("log", case_id, "--json").json()[-1]["record_id"]

    shown = rows(amina("show", case_id).stdout)
    assert shown["status"] == "transferred"
    assert shown["transferred"] == (f"to recv (Receiving Agency) on 2026-11-23 by amina; receipt not acknowledged yet: follow it "
                                    f"up with recv, record their receipt with cpcm transfer-ack RECEIPT (or, if the case never "
                                    f"reached them, cpcm reopen {case_id} --reason ...)")
    assert shown["plan"] == "version 1 (initial), approved; was in force when the case was transferred"
    data = amina("show", case_id, "--json").json()
    assert data["transfer"] == {"record_id": transfer_id, "to": "recv", "to_name": "Receiving Agency",
                                "at": "2026-11-23T09:00:00+03:00", "by": "amina", "acknowledged_at": None, "ack_record": None}
    assert data["plan"]["ended_with"] == "transferred" and data["plan"]["approved_at"]  # the keys it had stay

    receipt = tmp_env / "receipt.age"
    assert receiving.as_("wanjiru")("receive", str(bundle), "--receipt", str(receipt)).code == 0
    later = cli_as("amina", CPCM_NOW="2026-11-25T10:00:00+03:00")
    acked = later("transfer-ack", str(receipt), "--json")
    assert acked.code == 0, acked.stderr
    assert rows(later("show", case_id).stdout)["transferred"] == ("to recv (Receiving Agency) on 2026-11-23 by amina; receipt "
                                                                  "acknowledged on 2026-11-25")
    data = later("show", case_id, "--json").json()["transfer"]
    assert data["acknowledged_at"] == "2026-11-25T10:00:00+03:00" and data["ack_record"] == acked.json()["record_id"]


def test_show__an_open_case_has_no_transfer_row_and_its_approved_plan_is_in_force(cli, cli_as):
    case_id = planned(cli, cli_as)
    shown = rows(cli("show", case_id).stdout)
    assert "transferred" not in shown and shown["plan"] == "version 1 (initial), in force (approved)"
    assert "plan actions not done" not in shown and "action\twhat\twho\tby\tprogress" in cli("show", case_id).stdout
    data = cli("show", case_id, "--json").json()
    assert data["transfer"] is None and data["plan"]["ended_with"] is None


def test_show__a_closed_cases_plan_was_in_force_when_it_was_closed(cli, cli_as):
    case_id = planned(cli, cli_as)
    assert visit(cli, case_id).code == 0
    closed = cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "done by the family")
    assert closed.code == 0, closed.stderr
    assert rows(cli("show", case_id).stdout)["plan"] == "version 1 (initial), in force (approved)"  # the closure waits
    assert cli_as("sup")("approve", case_id, "closure").code == 0
    shown = rows(cli("show", case_id).stdout)
    assert shown["status"] == "closed" and "transferred" not in shown
    assert shown["plan"] == "version 1 (initial), approved; was in force when the case was closed"
    assert cli("show", case_id, "--json").json()["plan"]["ended_with"] == "closed"
    # its actions left open are named in one row, none due: not the table of open actions an open case has
    assert shown["plan actions not done"] == "A1, A2 (none is due: the case is closed)"
    assert "action\twhat\twho\tby\tprogress" not in cli("show", case_id).stdout


def test_show_record__an_approvals_time_kept_in_a_record_is_local(sending, cli_as, tmp_env):
    case_id, _bundle = sent(sending, cli_as, tmp_env)
    text = cli_as("amina")("show", case_id, "transfer").stdout
    assert "approval.decided at: 2026-11-23 09:00 +03:00" in text.splitlines(), text
    assert "+00:00" not in text
    # --json keeps the record as written
    assert cli_as("amina")("show", case_id, "transfer", "--json").json()["fields"]["approval"]["decided_at"] \
        == "2026-11-23T06:00:00+00:00"


def test_show__piped_tables_are_parted_by_a_blank_line_and_headed_by_their_titles(cli, cli_as):
    """Piped, each table starts with its title, '# ' and the words the terminal shows above it,
    then its header line: a script finds the consents by '# Consents on file', not by guessing
    from the columns (before, the tables had no titles)."""
    case_id = planned(cli, cli_as)
    consent(cli, case_id)
    text = cli("show", case_id).stdout
    tables = text.strip("\n").split("\n\n")
    assert [t.splitlines()[0] for t in tables] == [f"# Case {case_id}", "# Consents on file", "# Open plan actions", "# Due"], text
    assert [t.splitlines()[1] for t in tables] == ["field\tvalue", "purpose\tagency\tfrom\tanswer\ton\tuntil\tstate",
                                                   "action\twhat\twho\tby\tprogress", "due\twhat\tstate\twhy"], text
    assert "┃" not in text and "│" not in text  # plain, no boxes
    assert all(not line.startswith("#") for t in tables for line in t.splitlines()[1:])  # one title line each
    assert "# " not in cli("show", case_id, "--json").stdout.splitlines()[0]  # --json is as it was: one object
    assert cli("show", case_id, "--json").json()["case_id"] == case_id


def test_log__a_corrected_registration_reads_without_a_leading_space(cli):
    case_id = register(cli)
    fixed = cli("correct", case_id, "registration", "--set", "notes=met at school", "--reason", "left out", "--json")
    assert fixed.code == 0, fixed.stderr
    lines = cli("log", case_id).stdout.splitlines()
    registration = next(line.split("\t") for line in lines if "\tregistration\t" in line)
    assert registration[3] == f"[corrected by {fixed.json()['record_id']}]", lines
