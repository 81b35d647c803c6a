"""`cpcm show CASE` lists the case's reviews, as it lists its assessments, consents and
referrals: when, who recorded it, the outcome, what else it found (codes, dates and counts, no
free text) and the record, which `cpcm show CASE RECORD` reads in full. A corrected review gives
way to its correction; the reviews of the episode before a reopening are marked so. On a
terminal (a drawn table), piped (a plain table headed `# Reviews`) and with --json (a `reviews`
list). Through the CLI."""
from __future__ import annotations

import json
import os
import re
import sys

from conftest import Cli, on_terminal
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_followup_close import GOALS_MET, REVIEW, planned, visit

FIRST_AT = "2026-12-20T10:00:00+03:00"
SECOND_AT = "2027-01-15T10:00:00+03:00"
LATER = "2027-01-16T10:00:00+03:00"
CANARY = "Qjxreview Vwzcanary"  # free text of a review: never in the listing
FIRST = dict(REVIEW, attended={"child": "yes", "family": "no", "others": CANARY}, absent_reason=CANARY,
             progress=[{"item": "A1", "status": "done", "note": CANARY}, {"item": "G1", "status": "in_progress"}],
             decisions=[CANARY], assessment_updates=CANARY, notes=CANARY)
SECOND = dict(REVIEW, chair=f"{CANARY}, area chief", plan_still_right="no", outcome="replan", next_review="2027-03-01")


def at(cli: Cli, now: str) -> Cli:
    return Cli({**cli.env, "CPCM_NOW": now})


def reviewed(cli: Cli, case_id: str, review: dict, now: str, *extra: str) -> str:
    """A review of `case_id` written at `now`; its record ID."""
    written = at(cli, now)("review", case_id, "--from-file", "-", "--json", *extra, input=json.dumps(review))
    assert written.code == 0, written.stderr
    return written.json()["record_id"]


def table(text: str, title: str) -> list[list[str]]:
    """The header and rows of the piped table `title` of `cpcm show` (after its '# title' line)."""
    assert f"# {title}\n" in text, text
    return [line.split("\t") for line in text.split(f"# {title}\n")[1].split("\n\n")[0].splitlines()]


def two_reviews(cli, cli_as) -> tuple[str, str, str]:
    case_id = planned(cli, cli_as)
    first = reviewed(cli, case_id, FIRST, FIRST_AT, "--done", "A2")
    second = reviewed(cli, case_id, SECOND, SECOND_AT)
    return case_id, first, second


def test_show__lists_the_reviews_newest_last_with_what_they_found_and_their_record(cli, cli_as):
    case_id = planned(cli, cli_as)
    assert "# Reviews" not in cli("show", case_id).stdout  # none yet: no table, an empty list
    assert cli("show", case_id, "--json").json()["reviews"] == []
    first = reviewed(cli, case_id, FIRST, FIRST_AT, "--done", "A2")
    second = reviewed(cli, case_id, SECOND, SECOND_AT)
    later = at(cli, LATER)

    piped = later("show", case_id).stdout
    assert table(piped, "Reviews") == [
        ["on", "by", "outcome", "found", "record"],
        ["2026-12-20", "amina", "continue", "chair sup; plan still right: yes; attended: child yes, family no; progress: 1 done, "
                                            "1 in progress; actions done: A2", first],
        ["2027-01-15", "amina", "replan", "plan still right: no; attended: child yes, family yes; next review 2027-03-01", second],
    ]
    titles = [t.splitlines()[0] for t in piped.strip("\n").split("\n\n")]
    assert titles.index("# Reviews") == titles.index("# Due") - 1, titles  # the tables before it unchanged, in their order

    data = later("show", case_id, "--json").json()
    assert data["reviews"] == [
        {"record_id": first, "at": "2026-12-20T10:00:00+03:00", "by": "amina", "chair": "sup", "outcome": "continue",
         "plan_still_right": "yes", "attended": {"child": "yes", "family": "no"}, "progress": {"done": 1, "in_progress": 1},
         "actions_done": ["A2"], "next_review": None, "supersedes": None, "before_reopening": False},
        {"record_id": second, "at": "2027-01-15T10:00:00+03:00", "by": "amina", "chair": None, "outcome": "replan",
         "plan_still_right": "no", "attended": {"child": "yes", "family": "yes"}, "progress": {}, "actions_done": [],
         "next_review": "2027-03-01", "supersedes": None, "before_reopening": False},
    ]
    assert list(data)[list(data).index("referrals") + 1] == "reviews" and data["plan"]["version"] == 1  # beside the others

    # the record the row gives reads the review back in full, the chair's name and the decisions with it
    record = later("show", case_id, second)
    assert record.code == 0 and f"record {second} of {case_id}" in record.stdout and CANARY in record.stdout


def test_show__a_reviews_free_text_is_left_to_the_record(cli, cli_as):
    """The decisions, notes, why someone was absent, who else came, a progress note, what changed in
    the assessment and a chair who is not a worker (a name) stay in the record: the listing holds
    codes, dates, ids and counts only."""
    case_id, _first, _second = two_reviews(cli, cli_as)
    later = at(cli, LATER)
    lowered = [part.lower() for part in CANARY.split()]
    piped = later("show", case_id).stdout.split("# Reviews\n")[1]
    assert not any(part in piped.lower() for part in lowered), piped
    listed = json.dumps(later("show", case_id, "--json").json()["reviews"]).lower()
    assert not any(part in listed for part in lowered), listed


def test_show__a_corrected_review_gives_way_to_its_correction_in_its_place(cli, cli_as):
    """As for every section of `show`: the correction stands in the place of what it corrected
    (the order of the reviews kept), the original is not listed (`cpcm show CASE ORIGINAL` and
    `cpcm log` still read it), and the correction says which record it corrects."""
    case_id, first, second = two_reviews(cli, cli_as)
    later = at(cli, LATER)
    fixed = later("correct", case_id, first, "--set", "plan_still_right=no", "--reason", "typed wrong", "--json")
    assert fixed.code == 0, fixed.stderr
    correction = fixed.json()["record_id"]

    data = later("show", case_id, "--json").json()
    assert [(r["record_id"], r["supersedes"], r["plan_still_right"]) for r in data["reviews"]] == [
        (correction, first, "no"), (second, None, "no")]
    assert data["reviews"][0]["at"] == "2026-12-20T10:00:00+03:00"  # when the review was held, as corrected
    rows = table(later("show", case_id).stdout, "Reviews")[1:]
    assert [(row[0], row[-1]) for row in rows] == [("2026-12-20", correction), ("2027-01-15", second)], rows
    assert "plan still right: no" in rows[0][3]
    assert f"corrects {first}" in later("show", case_id, correction).stdout
    assert f"CORRECTED by {correction}" in later("show", case_id, first).stdout


def test_show__the_reviews_before_a_reopening_are_marked_as_the_consents_are(cli, cli_as):
    """Reviewed, closed, reopened, planned again and reviewed: the reviews of the episode the
    closure ended say so (`before_reopening`, through the one comparison `show` marks the
    assessments, consents and referrals with), in an `episode` column as the consents have."""
    sup = cli_as("sup")
    case_id = planned(cli, cli_as)
    first = reviewed(cli, case_id, REVIEW, FIRST_AT)
    worker = at(cli, "2027-01-20T09:00:00+03:00")
    assert visit(worker, case_id, "--done", "A1", "--done", "A2").code == 0
    closed = worker("close", case_id, "--reason", "goals_met", *GOALS_MET)
    assert closed.code == 0, closed.stderr
    assert at(sup, "2027-01-20T10:00:00+03:00")("approve", case_id, "closure").code == 0
    assert "before the reopening" not in at(cli, "2027-02-01T09:00:00+03:00")("show", case_id).stdout  # closed, not reopened
    worker = at(cli, "2027-03-10T09:00:00+03:00")
    reopened = worker("reopen", case_id, "--reason", "risk found at the post-closure visit")
    assert reopened.code == 0, reopened.stderr
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    new_plan = plan_doc("after_reopening", actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20",
                                                     "mode": "direct", "goal": "G1"}])
    assert worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan)).code == 0
    assert at(sup, "2027-03-12T09:00:00+03:00")("approve", case_id, "plan").code == 0
    second = reviewed(cli, case_id, REVIEW, "2027-04-01T09:00:00+03:00", "--done", "A3")
    later = at(cli, "2027-04-02T09:00:00+03:00")

    data = later("show", case_id, "--json").json()
    assert [(r["record_id"], r["before_reopening"]) for r in data["reviews"]] == [(first, True), (second, False)]
    rows = table(later("show", case_id).stdout, "Reviews")
    assert rows[0] == ["on", "by", "outcome", "found", "record", "episode"]
    assert [(row[4], row[5]) for row in rows[1:]] == [(first, "before the reopening"), (second, "since the reopening")], rows


def test_show__on_a_terminal_the_reviews_are_a_drawn_table_under_their_title(cli, cli_as):
    case_id, first, second = two_reviews(cli, cli_as)
    env = {**os.environ, **at(cli, LATER).env, "TERM": "xterm"}
    screen, code = on_terminal([sys.executable, "-m", "cpcm", "show", case_id], env, columns=100)
    text = re.sub(r"\x1b\[[0-9;]*m", "", screen.decode())  # its colours aside
    assert code == 0, text
    assert "Reviews" in text and "# Reviews" not in text and "┃ outcome" in text, text
    assert first in text and second in text  # an ID is never cut: it is what `cpcm show CASE RECORD` takes
    assert "2026-12-20" in text and "2027-01-15" in text
