"""Returns upward without pooling children's data: each agency writes its unsuppressed counts
encrypted to the county (`report statistics --for-aggregation`); the county adds them up and
only then hides small cells (`report combine`)."""
from __future__ import annotations

import json

import pytest

from conftest import NOW, Cli, make_identity, register

pytestmark = pytest.mark.e2e

PERIOD = ("--from", "2026-01-01", "--to", "2026-06-30")
CHILDREN = [  # (sex, date of birth, disability, concerns, registered)
    ("female", "2015-04-01", "no", ["neglect"], "2026-01-10"),
    ("male", "2012-09-12", "yes", ["child_labour"], "2026-02-03"),
    ("female", "2010-01-20", "unknown", ["sexual_abuse"], "2026-02-20"),
    ("male", "2020-05-05", "no", ["abandonment"], "2026-03-15"),
    ("female", "2013-11-30", "no", ["neglect"], "2026-04-01"),
    ("female", "2016-02-14", "yes", ["out_of_school"], "2026-05-09"),
    ("male", "2009-07-07", "no", ["street_connected"], "2026-06-02"),
]
AGENCIES = {"KSM": CHILDREN[0:2], "NBI": CHILDREN[2:5], "MSA": CHILDREN[5:7]}


def new_repo(tmp_env, code: str) -> Cli:
    key = tmp_env / "keys" / f"{code}.txt"
    make_identity(key)
    cli = Cli({"CPCM_REPO": str(tmp_env / code), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    made = cli("init", "--agency", code, "--name", f"Agency {code}", "--worker", "w", "--role", "caseworker", "--role", "supervisor")
    assert made.code == 0, made.stderr
    return cli


def fill(cli: Cli, children) -> None:
    for number, (sex, born, disability, concerns, at) in enumerate(children):
        register(cli, "--at", f"{at}T09:00:00+00:00", child={"name": f"Child {number}", "sex": sex, "date_of_birth": born,
                                                              "disability": disability}, concerns=concerns)


@pytest.fixture
def county(tmp_env):
    path = tmp_env / "keys" / "county.txt"
    return path, make_identity(path)


def test_combined_returns_equal_the_statistics_of_one_repository_holding_every_case(tmp_env, county):
    county_key, county_recipient = county
    returns = []
    for code, children in AGENCIES.items():
        cli = new_repo(tmp_env, code)
        fill(cli, children)
        out = tmp_env / f"{code}.return.age"
        made = cli("report", "statistics", *PERIOD, "--for-aggregation", "--recipient", county_recipient, "--out", str(out))
        assert made.code == 0, made.stderr
        assert out.read_bytes().startswith(b"age-encryption.org/v1")
        returns.append(out)

    together = new_repo(tmp_env, "ALL")
    fill(together, CHILDREN)
    expected = together("report", "statistics", *PERIOD, "--json")
    assert expected.code == 0, expected.stderr

    as_county = Cli({"CPCM_IDENTITY": str(county_key), "CPCM_NOW": NOW})
    combined = as_county("report", "combine", *map(str, returns), "--json")
    assert combined.code == 0, combined.stderr
    got, want = json.loads(combined.stdout), json.loads(expected.stdout)
    assert got["sections"] == want["sections"]
    assert got["tables"] == want["tables"]
    assert got["combined"] == {"agencies": ["KSM", "MSA", "NBI"], "returns": 3, "period_over": True, "not_over": []}
    # small cells were hidden after the sum: the county's 7 registrations show, each agency's 2-3 would not
    summary = {row[0]: row[1] for row in got["tables"][0]["rows"]}
    assert summary["Registrations"] == 7
    single = new_repo(tmp_env, "ONE")
    fill(single, AGENCIES["KSM"])
    alone = json.loads(single("report", "statistics", *PERIOD, "--json").stdout)
    assert {row[0]: row[1] for row in alone["tables"][0]["rows"]}["Registrations"] == "<5"


def test_a_return_holds_counts_only_and_opens_only_with_the_countys_key(tmp_env, county):
    county_key, county_recipient = county
    cli = new_repo(tmp_env, "KSM")
    fill(cli, AGENCIES["KSM"])
    out = tmp_env / "ksm.return.age"
    assert cli("report", "statistics", *PERIOD, "--for-aggregation", "--recipient", county_recipient, "--out", str(out)).code == 0
    from cpcm.crypto import cipher, identity

    plain = cipher.decrypt(out.read_bytes(), identity.load(county_key, lambda: None).keys).decode()
    document = json.loads(plain)
    assert document["format"] == "cpcm-statistics-return" and document["agency"] == "KSM"
    assert document["measures"]["registrations"] == [[None, None, "female", "10-14", "no", 1], [None, None, "male", "10-14", "yes", 1]]
    assert "Child 0" not in plain and "CP-" not in plain and "2026-01-10" not in plain
    # the agency's own key does not open it: it is for the county
    own = cli("report", "combine", str(out), str(out))
    assert own.code == 5, own.stderr


def test_refusals(tmp_env, county):
    county_key, county_recipient = county
    cli = new_repo(tmp_env, "KSM")
    fill(cli, AGENCIES["KSM"])
    no_recipient = cli("report", "statistics", *PERIOD, "--for-aggregation", "--out", str(tmp_env / "r.age"))
    assert no_recipient.code == 2 and "--recipient" in no_recipient.stderr
    first, other_period = tmp_env / "a.age", tmp_env / "b.age"
    assert cli("report", "statistics", *PERIOD, "--for-aggregation", "--recipient", county_recipient, "--out", str(first)).code == 0
    as_county = Cli({"CPCM_IDENTITY": str(county_key), "CPCM_NOW": NOW})
    twice = as_county("report", "combine", str(first), str(first))
    assert twice.code == 4 and "both from agency KSM" in twice.stderr
    # named as a set of files, and what to do is said of files ("the returns is not valid", then
    # "Correct the fields named above", the form's words, before)
    assert twice.stderr.startswith("error: the set of returns is not valid (1 problem):"), twice.stderr
    assert "fields" not in twice.stderr.splitlines()[-1] and "Give each agency's return once" in twice.stderr, twice.stderr
    nbi = new_repo(tmp_env, "NBI")
    assert nbi("report", "statistics", "--from", "2026-01-01", "--to", "2026-03-31", "--for-aggregation", "--recipient",
               county_recipient, "--out", str(other_period)).code == 0
    periods = as_county("report", "combine", str(first), str(other_period))
    assert periods.code == 4 and "different periods" in periods.stderr
    assert as_county("report", "combine", str(first)).code == 2


def test_a_file_too_large_for_a_return_is_refused_by_its_number(tmp_env, county):
    county_key, _ = county
    big, small = tmp_env / "big.age", tmp_env / "small.age"
    with open(big, "wb") as handle:  # sparse: 17 MiB of nothing, read no further than the limit
        handle.truncate(17 * 1024 * 1024)
    small.write_bytes(b"x")
    as_county = Cli({"CPCM_IDENTITY": str(county_key), "CPCM_NOW": NOW})
    refused = as_county("report", "combine", str(big), str(small))
    assert refused.code == 4 and "file 1" in refused.stderr and "too large" in refused.stderr, refused.stderr
    assert str(big) not in refused.stderr


NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30")


def test_a_return_made_before_its_period_ended__said_where_it_is_made_and_where_it_is_combined(tmp_env, county):
    """A return made on 23 November for November counts half a month. The agency is warned when it
    makes it (also on the period's last day: the rest of the day is still to come); the county is
    warned when it combines it (by the file's number and the agency's code, never a file name or
    what the return holds), the combined report says so at its top and in its notes, and --json
    says `period_over: false` with the returns that were not over. Before, nothing said it: the
    county summed a half month as if it were whole."""
    county_key, county_recipient = county
    ksm, nbi = new_repo(tmp_env, "KSM"), new_repo(tmp_env, "NBI")
    fill(ksm, [("female", "2015-04-01", "no", ["neglect"], "2026-11-02")])
    early, late, last_day = tmp_env / "ksm-early.age", tmp_env / "nbi-late.age", tmp_env / "ksm-last.age"
    made = ksm("report", "statistics", *NOVEMBER, "--for-aggregation", "--recipient", county_recipient, "--out", str(early), "--json")
    assert made.code == 0, made.stderr
    assert made.json()["period_over"] is False
    assert made.stderr.count("warning:") == 1 and "the period has not ended (it ends 2026-11-30; today is 2026-11-23)" in made.stderr
    on_the_day = ksm("report", "statistics", *NOVEMBER, "--for-aggregation", "--recipient", county_recipient, "--out",
                     str(last_day), "--json", env={"CPCM_NOW": "2026-11-30T20:00:00+03:00"})
    assert on_the_day.code == 0 and on_the_day.json()["period_over"] is False and "has not ended" in on_the_day.stderr
    after = nbi("report", "statistics", *NOVEMBER, "--for-aggregation", "--recipient", county_recipient, "--out", str(late),
                "--json", env={"CPCM_NOW": "2026-12-01T08:00:00+03:00"})
    assert after.code == 0 and after.json()["period_over"] is True and "warning" not in after.stderr

    as_county = Cli({"CPCM_IDENTITY": str(county_key), "CPCM_NOW": "2026-12-02T10:00:00+03:00"})
    combined = as_county("report", "combine", str(late), str(early), "--json")
    assert combined.code == 0, combined.stderr
    assert combined.json()["combined"]["period_over"] is False
    assert combined.json()["combined"]["not_over"] == [{"file": 2, "agency": "KSM", "made_on": "2026-11-23"}]
    assert combined.stderr.count("warning:") == 1, combined.stderr
    assert ("warning: the return in file 2 (agency KSM) was made on 2026-11-23, before the period ended "
            "(2026-11-01 to 2026-11-30): it counts only up to that day") in combined.stderr
    assert str(early) not in combined.stderr and early.name not in combined.stderr and "Child" not in combined.stderr
    assert "not the whole period: 1 of the returns" in combined.json()["meta"]["coverage"]
    assert combined.json()["notes"][0].startswith("Not the whole period (2026-11-01 to 2026-11-30): the return in file 2")
    for fmt in ("md", "html"):
        rendered = as_county("report", "combine", str(late), str(early), "--format", fmt)
        assert rendered.code == 0 and "Not the whole period" in rendered.stdout and "not the whole period: 1" in rendered.stdout
    written = as_county("report", "combine", str(late), str(early), "--out", str(tmp_env / "county.md"), "--json")
    assert written.code == 0 and written.json()["period_over"] is False
    terminal = as_county("report", "combine", str(late), str(early))
    assert terminal.code == 0 and "not the whole period" in terminal.stdout.splitlines()[1]

    # returns made after the period: no warning, and --json says the period was over
    again = ksm("report", "statistics", *NOVEMBER, "--for-aggregation", "--recipient", county_recipient, "--out",
                str(tmp_env / "ksm-again.age"), env={"CPCM_NOW": "2026-12-01T09:00:00+03:00"})
    assert again.code == 0 and "warning" not in again.stderr
    whole = as_county("report", "combine", str(late), str(tmp_env / "ksm-again.age"), "--json")
    assert whole.code == 0 and "warning" not in whole.stderr
    assert whole.json()["combined"] == {"agencies": ["KSM", "NBI"], "returns": 2, "period_over": True, "not_over": []}
    assert "not the whole period" not in whole.json()["meta"]["coverage"]


def test_a_plain_statistics_report_of_a_period_not_over_says_so_once(tmp_env):
    """`report statistics` with no period (the twelve months up to today) counts a period still
    running: it says so on standard error once, as a return does, and --json says
    `period_over: false` (the rule of `reports.common.period_over`: over once its last day has
    passed). Before, only --for-aggregation and combine said it."""
    ksm = new_repo(tmp_env, "KSM")
    fill(ksm, [("female", "2015-04-01", "no", ["neglect"], "2026-11-02")])
    now = {"CPCM_NOW": "2026-11-23T10:00:00+03:00"}
    for args in [(), ("--json",), ("--format", "md"), ("--format", "md", "--json"), ("--to", "2026-12-31")]:
        made = ksm("report", "statistics", *args, env=now)
        assert made.code == 0, made.stderr
        assert made.stderr.count("warning:") == 1, (args, made.stderr)
        assert "the period has not ended (it ends " in made.stderr and "today is 2026-11-23" in made.stderr, made.stderr
        assert "this report counts only up to today" in made.stderr
    assert ksm("report", "statistics", "--json", env=now).json()["period_over"] is False
    assert ksm("report", "statistics", "--format", "md", "--json", env=now).json()["period_over"] is False
    written = ksm("report", "statistics", "--out", str(tmp_env / "nov.md"), "--json", env=now)
    assert written.code == 0 and written.json()["period_over"] is False
    on_the_day = ksm("report", "statistics", *NOVEMBER, "--json", env={"CPCM_NOW": "2026-11-30T20:00:00+03:00"})
    assert on_the_day.json()["period_over"] is False and "has not ended (it ends 2026-11-30" in on_the_day.stderr
    after = ksm("report", "statistics", *NOVEMBER, "--json", env={"CPCM_NOW": "2026-12-01T08:00:00+03:00"})
    assert after.code == 0 and after.json()["period_over"] is True and "warning" not in after.stderr
    # the other reports are not statistics: no period_over, and only a --to after today is said
    timeliness = ksm("report", "timeliness", "--json", env=now)
    assert timeliness.code == 0 and "period_over" not in timeliness.json() and "warning" not in timeliness.stderr
