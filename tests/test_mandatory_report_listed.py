"""A concern the agency makes reportable after a case recorded it (`cpcm policy set` listing it in
`mandatory_report.concerns`, or `cpcm config set policy` to a profile that lists it) owes its
decision from the listing, not from when the case recorded it: when each concern was listed is kept
in .cpcm/config.yaml (`reportable_since`), a list that grows keeps the times it had, a concern
removed and listed again counts from the new listing, and two copies that listed one concern apart
keep the earlier time. Through the CLI, as a supervisor and a caseworker use it; the rule and the
merge, pure."""
from __future__ import annotations

import pytest

from conftest import NOW, git, last_commit, register

DAY_40 = "2027-01-02T09:00:00+03:00"  # 40 days after the registration (NOW): the supervisor lists sexual abuse
DAY_42 = "2027-01-04T09:00:00+03:00"  # two days after the listing: the decision is a day overdue
DAY_43 = "2027-01-05T09:00:00+03:00"  # trafficking is listed too
LISTED = DAY_40  # as the config keeps it (the agency's time, as `policy_since`)
OWED_BY = "2027-01-03T09:00+03:00"  # the policy's 24 hours after the listing
SEXUAL_ABUSE = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse]\n"
BOTH = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse, trafficking]\n"
UNRELATED = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse, trafficking]\n  referral_feedback:\n    limit: 10d\n"


def policy_set(cli_as, repo, text: str, now: str) -> dict:
    path = repo.parent / "policy.yaml"
    path.write_text(text)
    done = cli_as("sup", CPCM_NOW=now)("policy", "set", str(path), "--json")
    path.unlink()
    assert done.code == 0, done.stderr
    return done.json()


def config(repo) -> dict:
    from cpcm.store import codec

    return codec.loads((repo / ".cpcm" / "config.yaml").read_bytes())


def owed(cli_as, case_id: str, now: str) -> list[dict]:
    listed = cli_as("amina", CPCM_NOW=now)("due", "--json", "--within", "60")
    assert listed.code == 0, listed.stderr
    return [i for i in listed.json() if i["case_id"] == case_id and i["code"] == "mandatory-report"]


def problems(cli_as, case_id: str, now: str) -> list[str]:
    checked = cli_as("amina", CPCM_NOW=now)("check", case_id, "--json")
    assert checked.code in (0, 1), checked.stderr
    return [p["code"] for p in checked.json()]


def test_walk__a_concern_listed_40_days_after_the_case_recorded_it_is_owed_from_the_listing(repo, cli_as):
    amina = cli_as("amina")
    case_id = register(amina, concerns=["neglect", "sexual_abuse"])
    assert owed(cli_as, case_id, NOW) == []  # nothing is reportable yet

    # 40 days on, the supervisor lists sexual abuse: the time is kept in the config, in the policy's commit
    result = policy_set(cli_as, repo, SEXUAL_ABUSE, DAY_40)
    assert result["reportable_since"] == {"sexual_abuse": LISTED} and result["listed_now"] == ["sexual_abuse"]
    assert config(repo)["reportable_since"] == {"sexual_abuse": LISTED}
    assert set(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == {".cpcm/policy.yaml", ".cpcm/config.yaml"}
    assert last_commit(repo)["message"] == "policy set: mandatory_report.concerns"

    # due 24 hours after the listing, not 40 days late; no error in check on the day of the listing
    [item] = owed(cli_as, case_id, DAY_40)
    assert item["due"] == OWED_BY and item["state"] == "due_soon", item
    assert "listed by the agency's policy on 2027-01-02" in item["why"]
    assert "mandatory-report-overdue" not in problems(cli_as, case_id, DAY_40)

    # two days later it is a day overdue: due, check, show and the caseload report say so
    [item] = owed(cli_as, case_id, DAY_42)
    assert item["due"] == OWED_BY and item["state"] == "overdue"
    assert "mandatory-report-overdue" in problems(cli_as, case_id, DAY_42)
    shown = cli_as("amina", CPCM_NOW=DAY_42)("show", case_id, "--json")
    assert "mandatory-report-overdue" in [p["code"] for p in shown.json()["problems"]]
    load = cli_as("sup", CPCM_NOW=DAY_42)("report", "caseload", "--json")
    assert load.code == 0, load.stderr
    assert {w["worker"]: w["overdue"].get("mandatory-report") for w in load.json()["workers"]}["amina"] == 1
    assert "mandatory-report-overdue" not in problems(cli_as, case_id, "2027-01-03T08:59:00+03:00")

    # a second policy set that adds trafficking leaves sexual abuse's clock alone
    again = policy_set(cli_as, repo, BOTH, DAY_43)
    assert again["reportable_since"] == {"sexual_abuse": LISTED, "trafficking": DAY_43}
    assert again["listed_now"] == ["trafficking"]
    assert [i["due"] for i in owed(cli_as, case_id, DAY_43)] == [OWED_BY]

    # and so does one that changes another rule
    policy_set(cli_as, repo, UNRELATED, "2027-01-06T09:00:00+03:00")
    assert config(repo)["reportable_since"] == {"sexual_abuse": LISTED, "trafficking": DAY_43}
    assert [i["due"] for i in owed(cli_as, case_id, "2027-01-06T09:00:00+03:00")] == [OWED_BY]


def test_a_concern_removed_from_the_list_and_listed_again_counts_from_the_new_listing(repo, cli_as):
    case_id = register(cli_as("amina"), concerns=["sexual_abuse"])
    policy_set(cli_as, repo, SEXUAL_ABUSE, DAY_40)
    policy_set(cli_as, repo, "rules:\n  mandatory_report:\n    concerns: [trafficking]\n", DAY_42)
    assert config(repo)["reportable_since"] == {"trafficking": DAY_42}
    assert owed(cli_as, case_id, DAY_42) == []
    policy_set(cli_as, repo, BOTH, DAY_43)
    assert config(repo)["reportable_since"]["sexual_abuse"] == DAY_43
    assert [i["due"] for i in owed(cli_as, case_id, DAY_43)] == ["2027-01-06T09:00+03:00"]


def test_a_concern_listed_before_the_case_recorded_it_is_owed_from_the_recording(repo, cli_as):
    """Today's rule where the listing came first: the registration's (or the update's) time."""
    policy_set(cli_as, repo, SEXUAL_ABUSE, NOW)
    case_id = register(cli_as("amina", CPCM_NOW=DAY_40), concerns=["sexual_abuse"])
    [item] = owed(cli_as, case_id, DAY_40)
    assert item["due"] == OWED_BY and "listed by the agency" not in item["why"]


def test_a_policy_edited_by_hand_then_committed_by_policy_set_lists_from_then(repo, cli_as):
    """`cpcm policy set` without FILE commits the .cpcm/policy.yaml in place: what it lists that the
    committed rules did not is reportable from that commit."""
    case_id = register(cli_as("amina"), concerns=["sexual_abuse"])
    (repo / ".cpcm" / "policy.yaml").write_text(SEXUAL_ABUSE)
    done = cli_as("sup", CPCM_NOW=DAY_40)("policy", "set")
    assert done.code == 0, done.stderr
    assert "sexual_abuse reportable from now" in done.stderr
    assert config(repo)["reportable_since"] == {"sexual_abuse": LISTED}
    assert [i["due"] for i in owed(cli_as, case_id, DAY_40)] == [OWED_BY]


def test_a_profile_that_lists_a_concern_makes_it_reportable_from_when_it_took_effect(repo, cli_as, monkeypatch):
    """`cpcm config set policy PROFILE`: a concern the new profile lists that was not listed counts
    from `policy_since` (the shipped profiles list none: one that does stands in for them here)."""
    from dataclasses import replace

    from cpcm.store import policies

    shipped = policies.load

    def load(profile, root=None):
        policy = shipped(profile, root)
        if profile != "kenya":
            return policy
        rules = dict(policy.rules, mandatory_report=dict(policy.rules["mandatory_report"], concerns=["sexual_abuse"]))
        return replace(policy, rules=rules)

    monkeypatch.setattr(policies, "load", load)
    case_id = register(cli_as("amina"), concerns=["sexual_abuse"])
    done = cli_as("sup", CPCM_NOW=DAY_40)("config", "set", "policy", "kenya")
    assert done.code == 0, done.stderr
    assert config(repo)["policy_since"] == LISTED and config(repo)["reportable_since"] == {"sexual_abuse": LISTED}
    assert [i["due"] for i in owed(cli_as, case_id, DAY_40)] == [OWED_BY]


# -- pure ------------------------------------------------------------------------------------------
def test_owed__pure_from_the_later_of_the_recording_and_the_listing():
    from cpcm.domain.case import Case
    from cpcm.store import policies
    from cpcm.workflow import mandatory_report as rules

    base = policies.load("inter-agency")
    policy = type(base)(profile=base.profile, title=base.title, origins=base.origins,
                        rules=dict(base.rules, mandatory_report=dict(base.rules["mandatory_report"],
                                                                     concerns=["sexual_abuse", "trafficking"])))
    registered = "2026-11-23T06:00:00+00:00"
    case = Case(id="CP-0000-0000", registered_at=registered, concerns=("sexual_abuse", "trafficking"),
                concerns_since={"sexual_abuse": registered, "trafficking": registered})
    assert rules.owed(case, policy, {}) == (registered, ["sexual_abuse", "trafficking"], None)
    listed = {"sexual_abuse": "2027-01-02T09:00:00+03:00", "trafficking": DAY_43}
    assert rules.owed(case, policy, listed) == ("2027-01-02T06:00:00+00:00", ["sexual_abuse", "trafficking"], None)
    assert rules.owed(case, policy, {"trafficking": "2026-01-01T00:00:00+00:00"})[0] == registered  # listed first
    assert rules.owed(case, policy, {"sexual_abuse": "not a time"})[0] == registered  # edited by hand: from the start
    report = {"record_id": "R1", "at": "2027-01-03T06:00:00+00:00", "by": "amina", "decision": "reported",
              "needs_approval": False, "decided_at": None, "decided_by": None, "approved": None}
    decided = Case(id=case.id, registered_at=registered, concerns=case.concerns, concerns_since=case.concerns_since,
                   mandatory_report=report)
    assert rules.owed(decided, policy, listed) == ("2027-01-05T06:00:00+00:00", ["trafficking"], None)


def test_listings__pure():
    from cpcm.workflow.mandatory_report import listings

    then, now = "2027-01-02T06:00:00+00:00", "2027-01-05T06:00:00+00:00"
    assert listings([], ["sexual_abuse"], {}, now) == {"sexual_abuse": now}
    assert listings(["sexual_abuse"], ["sexual_abuse", "trafficking"], {"sexual_abuse": then}, now) == {
        "sexual_abuse": then, "trafficking": now}
    assert listings(["sexual_abuse"], ["sexual_abuse"], {}, now) == {}  # listed from the start stays so
    assert listings(["sexual_abuse", "trafficking"], ["trafficking"], {"sexual_abuse": then}, now) == {}
    assert listings([], [], {"sexual_abuse": then}, now) == {}


def test_merge__a_concern_listed_apart_on_two_copies_keeps_the_earlier_time():
    from cpcm.store import codec
    from cpcm.store.merge import MergeRefused, merge_settings

    def conf(**listed) -> bytes:
        data = {"format": 1, "agency": {"code": "X", "name": "X"}, "policy": "inter-agency"}
        return codec.dump_text(dict(data, reportable_since=listed) if listed else data).encode()

    early, late = "2027-01-02T06:00:00+00:00", "2027-01-02T10:00:00+03:00"  # the later one written with another offset
    base = conf()
    for ours, theirs in ((conf(sexual_abuse=late), conf(sexual_abuse=early)), (conf(sexual_abuse=early), conf(sexual_abuse=late))):
        assert codec.loads(merge_settings(".cpcm/config.yaml", base, ours, theirs))["reportable_since"] == {"sexual_abuse": early}
    # a listing again on one copy (removed, listed anew) takes that copy's, as any key changed on one side
    relisted = conf(sexual_abuse="2027-02-01T06:00:00+00:00")
    assert codec.loads(merge_settings(".cpcm/config.yaml", conf(sexual_abuse=early), relisted, conf(sexual_abuse=early))
                       )["reportable_since"] == {"sexual_abuse": "2027-02-01T06:00:00+00:00"}
    # two concerns, one on each copy: both
    both = merge_settings(".cpcm/config.yaml", base, conf(sexual_abuse=early), conf(trafficking=late))
    assert codec.loads(both)["reportable_since"] == {"sexual_abuse": early, "trafficking": late}
    with pytest.raises(MergeRefused) as refused:  # edited by hand into something else: named, nothing merged
        merge_settings(".cpcm/config.yaml", base, conf(sexual_abuse="soon"), conf(sexual_abuse=early))
    assert "reportable_since.sexual_abuse" in str(refused.value) and "edited outside cpcm" in refused.value.hint


def test_the_due_table_depends_on_when_each_concern_was_listed_and_the_config_reads_it_back(repo):
    from dataclasses import replace

    from cpcm.errors import Corrupt
    from cpcm.service.tables import policy_fingerprint
    from cpcm.store import policies
    from cpcm.store.config import config_bytes, load_config

    policy = policies.load("inter-agency")
    assert policy_fingerprint(policy) != policy_fingerprint(replace(policy, reportable_since={"sexual_abuse": LISTED}))
    assert policy_fingerprint(policy) == policy_fingerprint(replace(policy, reportable_since={}))

    read = load_config(repo)
    assert read.reportable_since == {}
    (repo / ".cpcm" / "config.yaml").write_bytes(config_bytes(replace(read, reportable_since={"sexual_abuse": LISTED})))
    assert load_config(repo).reportable_since == {"sexual_abuse": LISTED}
    (repo / ".cpcm" / "config.yaml").write_text((repo / ".cpcm" / "config.yaml").read_text() + "reportable_since: [x]\n")
    with pytest.raises(Corrupt) as bad:
        load_config(repo)
    assert "reportable_since" in str(bad.value)


def test_sync__two_copies_that_listed_a_concern_apart_keep_the_earlier_time(repo, team, tmp_env, cli_as):
    """A supervisor lists sexual abuse on the office's copy on day 40, and again on a laptop (the same
    file) on day 42 before the copies met: after the sync both copies count it from day 40."""
    import subprocess

    from conftest import Cli
    from test_sync import Laptops

    laptops = Laptops(repo, team, tmp_env)
    case_id = register(cli_as("amina"), concerns=["sexual_abuse"])
    laptops.sync("sup")
    other = tmp_env / "laptop-sup-2"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(other)], check=True, capture_output=True)
    policy_set(cli_as, repo, SEXUAL_ABUSE, DAY_40)
    path = other.parent / "policy-2.yaml"
    path.write_text(SEXUAL_ABUSE)
    second = Cli({"CPCM_REPO": str(other), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": DAY_42})
    assert second("policy", "set", str(path)).code == 0
    assert config(other)["reportable_since"] == {"sexual_abuse": DAY_42}
    laptops.sync("sup")
    merged = second("sync", "--json")
    assert merged.code == 0, merged.stderr
    assert config(other)["reportable_since"] == {"sexual_abuse": DAY_40}
    laptops.sync("sup")
    assert config(repo)["reportable_since"] == {"sexual_abuse": DAY_40}
    [item] = [i for i in second("due", "--json", "--worker", "all").json() if i["code"] == "mandatory-report"]
    assert item["case_id"] == case_id and item["due"] == OWED_BY
