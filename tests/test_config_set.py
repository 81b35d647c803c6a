"""`cpcm config set`: a supervisor or manager changes a setting of .cpcm/config.yaml in one signed
commit, after the value is checked; nothing changes otherwise (a commit made by hand would be
reported by `cpcm verify` as unsigned)."""
from __future__ import annotations

import pytest

from conftest import commit_count, git_status, last_commit, register

pytestmark = pytest.mark.e2e


def test_config_set__a_supervisor_changes_a_setting_in_one_signed_commit(cli, cli_as, repo):
    sup = cli_as("sup")
    case_id = register(cli)
    commits = commit_count(repo)
    refused = cli("config", "set", "timezone", "Africa/Nairobi")  # a caseworker
    assert refused.code == 4 and "only a supervisor or manager" in refused.stderr
    for key, value, field in [("timezone", "Mars/Olympus_Mons", "timezone"), ("language", "fr", "language"),
                              ("policy", "martian", "policy"), ("agency.name", "two\nlines", "agency.name")]:
        wrong = sup("config", "set", key, value)
        assert wrong.code == 4 and f"{field}:" in wrong.stderr, (key, wrong.stderr)
    assert sup("config", "set", "format", "2").code == 2
    assert commit_count(repo) == commits
    done = sup("config", "set", "timezone", "Africa/Johannesburg", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["before"] != "Africa/Johannesburg" and done.json()["commit"]
    assert commit_count(repo) == commits + 1 and git_status(repo) == []
    assert last_commit(repo)["subject"] == "config set timezone" and last_commit(repo)["author"] == "sup"
    assert "timezone: Africa/Johannesburg" in (repo / ".cpcm" / "config.yaml").read_text()
    assert sup("verify").code == 0  # signed by a supervisor
    assert "+02:00" in cli("show", case_id).stdout  # times are shown in the new zone at once
    same = sup("config", "set", "timezone", "Africa/Johannesburg")
    assert same.code == 0 and "no change" in same.stderr and commit_count(repo) == commits + 1
    assert sup("config", "set", "language", "sw").code == 0
    assert sup("config", "set", "agency.name", "Kisumu Children's Home").code == 0
    config = (repo / ".cpcm" / "config.yaml").read_text()
    assert "language: sw" in config and "Kisumu Children's Home" in config and commit_count(repo) == commits + 3


def test_config_set__a_profile_the_agency_override_does_not_fit_is_refused(cli_as, repo):
    sup = cli_as("sup")
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 12\n    warn_from: 10\n")
    assert sup("policy", "set").code == 0
    commits = commit_count(repo)
    assert sup("config", "set", "policy", "kenya").code == 0  # the override fits kenya too
    assert sup("policy", "show", "--json").json()["profile"] == "kenya"
    assert commit_count(repo) == commits + 1
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  forms:\n    transfer: transfer-kenya\n")  # a key of kenya only
    assert sup("policy", "set").code == 0
    back = sup("config", "set", "policy", "inter-agency")
    assert back.code == 4 and "rules.forms.transfer" in back.stderr
    assert "policy: kenya" in (repo / ".cpcm" / "config.yaml").read_text() and commit_count(repo) == commits + 2
