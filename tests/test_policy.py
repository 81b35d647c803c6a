"""Policy profiles and agency overrides: invalid ones are refused with the exact key and reason."""
from __future__ import annotations

import pytest

from cpcm.store import policies
from cpcm.domain.profiles import build

from conftest import register


def errors_for(override):
    policy, errors = build(policies.chain("inter-agency"), override)
    assert policy is None
    return {(e.field, e.reason) for e in errors}


def test_profiles__kenya_extends_inter_agency_with_its_own_caseload():
    inter, kenya = policies.load("inter-agency"), policies.load("kenya")
    assert inter.get("caseload", "cap") == 25 and kenya.get("caseload", "cap") == 20
    assert kenya.get("initial_assessment", "limit") == inter.get("initial_assessment", "limit")
    assert "Kenya" in kenya.source("caseload")


def test_every_rule_names_its_source():
    for name in ("inter-agency", "kenya"):
        policy = policies.load(name)
        for rule in policy.rules:
            assert policy.source(rule), f"{name}: {rule} has no source"


@pytest.mark.parametrize("override, field, reason_part", [
    ({"rules": {"reviw": {"interval": "2mo"}}}, "rules.reviw", "did you mean 'rules.review'"),
    ({"rules": {"review": {"intervall": "2mo"}}}, "rules.review.intervall", "not a setting of rules.review"),
    ({"rules": {"case_plan": {"limit": "-3d"}}}, "rules.case_plan.limit", "negative"),
    ({"rules": {"case_plan": {"limit": "soon"}}}, "rules.case_plan.limit", "not a duration"),
    ({"rules": {"caseload": {"cap": -1}}}, "rules.caseload.cap", "negative"),
    ({"rules": {"caseload": {"over_cap": "shout"}}}, "rules.caseload.over_cap", "warn, refuse"),
    ({"rules": {"risk_levels": {"levels": ["immediate", "high", "medium", "low", "extreme"]}}},
     "rules.risk_response.limit.extreme", "no response time"),
])
def test_invalid_override__refused_with_key_and_reason(override, field, reason_part):
    found = errors_for(override)
    assert any(f == field and reason_part in r for f, r in found), found


def test_override__a_closure_checklist_item_is_a_code_listed_once_named_by_its_place_not_its_words(cli, repo, tmp_path):
    """`cpcm close --check` takes codes: an item with a space was valid in the policy, and then no
    --check could confirm it (nor the items beside it); only --check all closed."""
    found = errors_for({"rules": {"closure_reasons": {
        "registered_in_error": ["error_confirmed", "Supervisor told the referrer"],
        "no_concerns": ["child_safe", "child_safe"]}}})
    assert {f for f, _ in found} == {"rules.closure_reasons.registered_in_error[1]", "rules.closure_reasons.no_concerns[1]"}, found
    words = dict(found)["rules.closure_reasons.registered_in_error[1]"]
    assert "is not a code" in words and "Supervisor" not in words
    assert "'child_safe' is listed twice" in dict(found)["rules.closure_reasons.no_concerns[1]"]
    spaced = tmp_path / "spaced.yaml"
    spaced.write_text('rules:\n  closure_reasons:\n    registered_in_error: [error_confirmed, "Supervisor told the referrer"]\n')
    checked = cli("policy", "check", str(spaced))
    assert checked.code == 4 and "rules.closure_reasons.registered_in_error[1]: is not a code" in checked.stderr
    assert "Supervisor" not in checked.stderr


def test_policy_check__a_cap_alone_below_the_profiles_warn_from_says_which_value_and_what_to_add(cli, repo, tmp_path):
    """`cpcm policy check` of a file with `caseload: {cap: 3}` alone said only 'rules.caseload.warn_from: is
    above the cap', a key the file does not hold."""
    capped = tmp_path / "pol-cap.yaml"
    capped.write_text("rules:\n  caseload:\n    cap: 3\n")
    checked = cli("policy", "check", str(capped))
    warn_from = policies.load("inter-agency").get("caseload", "warn_from")
    assert checked.code == 4
    assert (f"rules.caseload.warn_from: is above the cap: the profile's warn_from ({warn_from}) is above the cap the file "
            "sets (3); set warn_from in the file too, at most the cap") in checked.stderr, checked.stderr
    capped.write_text("rules:\n  caseload:\n    cap: 3\n    warn_from: 3\n")
    assert cli("policy", "check", str(capped)).code == 0


def test_override__changes_a_single_value_and_says_where(tmp_path):
    (tmp_path / ".cpcm").mkdir()
    (tmp_path / ".cpcm" / "policy.yaml").write_text("rules:\n  review:\n    interval: 2mo\n")
    policy = policies.load("inter-agency", tmp_path)
    assert policy.get("review", "interval") == "2mo"
    assert policy.get("case_plan", "limit") == "14d"
    assert "changed by this agency" in policy.source("review")


def test_with_override__a_number_with_a_leading_zero_is_the_number():
    """A record's text field keeps 0712 as typed (codec.load_input); a policy's numbers are
    settings, as `policy set` and the file in place read them: cap: 030 is 30."""
    assert policies.with_override("inter-agency", "rules:\n  caseload:\n    cap: 030\n").get("caseload", "cap") == 30


def test_policy_show__says_changed_on_the_value_changed_only(cli, repo):
    """Of a rule with two values, the one the agency set reads "changed by this agency"; the other
    keeps its source as it is (the rule's deadlines, which use both, say it was changed)."""
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  review_after_reunification:\n    interval: 1mo\n")
    rows = {r["key"]: r for r in cli("policy", "show", "--json").json()["rules"] if r["rule"] == "review_after_reunification"}
    assert "changed by this agency" in rows["interval"]["source"] and rows["interval"]["set_in"] == ".cpcm/policy.yaml"
    assert "changed by this agency" not in rows["period"]["source"] and rows["period"]["set_in"].startswith("profile")
    assert "changed by this agency" in policies.load("inter-agency", repo).source("review_after_reunification")


def test_policy_cli__show_lists_rules_with_sources_and_check_refuses_bad_files(cli, repo, tmp_path):
    shown = cli("policy", "show", "--json")
    assert shown.code == 0, shown.stderr
    rows = shown.json()["rules"]
    assert {"rule": "initial_assessment", "key": "limit", "value": "48h"}.items() <= next(
        r for r in rows if r["rule"] == "initial_assessment" and r["key"] == "limit").items()
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  review:\n    interval: -1mo\n")
    checked = cli("policy", "check", str(bad))
    assert checked.code == 4
    assert "rules.review.interval" in checked.stderr and "negative" in checked.stderr
    good = tmp_path / "good.yaml"
    good.write_text("rules:\n  review:\n    interval: 1mo\n")
    assert cli("policy", "check", str(good)).code == 0


def test_invalid_policy_in_the_repository__every_command_that_needs_it_refuses(cli, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: many\n")
    result = cli("due")
    assert result.code == 4
    assert "rules.caseload.cap" in result.stderr
    assert ".cpcm/policy.yaml" in result.stderr and "cpcm policy set" in result.stderr  # where, and how to mend it


def test_policy_check__a_file_that_is_not_yaml_is_named_file_not_by_the_path_typed(cli, repo, tmp_path):
    """A path may hold a child's name: the message says FILE, as `policy set` does; the repository's
    own file, broken by hand, is named with the command that mends it."""
    folder = tmp_path / "Zawadi Canary"
    folder.mkdir()
    bad = folder / "Zawadi-Canary.yaml"
    bad.write_text("rules: [unclosed\n")
    checked = cli("policy", "check", str(bad))
    assert checked.code == 4 and "FILE" in checked.stderr and "Zawadi" not in checked.stderr + checked.stdout
    (repo / ".cpcm" / "policy.yaml").write_text("rules: [unclosed\n")
    for args in (("due",), ("policy", "check")):
        broken = cli(*args)
        assert broken.code == 4 and ".cpcm/policy.yaml" in broken.stderr and "cpcm policy set" in broken.stderr, broken.stderr


def test_caseload__warns_near_the_cap_and_refuses_over_it_where_the_policy_says_so(cli, repo):
    (repo / ".cpcm" / "policy.yaml").write_text(
        "rules:\n  caseload:\n    cap: 2\n    warn_from: 2\n    over_cap: refuse\n")
    register(cli)
    second = cli("register", "--from-file", "-", "--json", input=__import__("json").dumps(__import__("conftest").registration()))
    assert second.code == 0
    assert "caseload" in second.stderr and "cap 2" in second.stderr
    third = cli("register", "--from-file", "-", input=__import__("json").dumps(__import__("conftest").registration()))
    assert third.code == 4
    assert "caseload" in third.stderr and "3 open cases" in third.stderr and "the cap is 2" in third.stderr


def test_caseload__over_the_cap_only_warns_by_default(cli, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 1\n    warn_from: 1\n")
    register(cli)
    second = cli("register", "--from-file", "-", input=__import__("json").dumps(__import__("conftest").registration()))
    assert second.code == 0
    assert "the cap is 1" in second.stderr
    checked = cli("check", "--json")
    assert checked.code == 1
    assert "caseload-over-cap" in {p["code"] for p in checked.json()}


def test_approvals__one_key_shape_for_plan_closure_and_transfer():
    policy = policies.load("inter-agency")
    for subject in ("plan", "closure", "transfer"):
        assert isinstance(policy.get(f"{subject}_approval", "required"), bool)
        assert policy.get(f"{subject}_approval", "self_approval") is False
        assert policy.source(f"{subject}_approval")
    assert "approval_required" not in policy.rules["transfer"] and "self_approval" not in policy.rules["transfer"]


@pytest.mark.parametrize("old_key, new_key", [("approval_required", "required"), ("self_approval", "self_approval")])
def test_override__the_old_transfer_keys_are_read_under_their_new_name_with_a_note(old_key, new_key):
    value = old_key == "self_approval"  # the opposite of the shipped value, so the change shows
    policy, errors = build(policies.chain("inter-agency"), {"rules": {"transfer": {old_key: value}}}, ".cpcm/policy.yaml")
    assert not errors
    assert policy.get("transfer_approval", new_key) is value
    assert old_key not in policy.rules["transfer"]
    assert policy.origins[f"transfer_approval.{new_key}"] == ".cpcm/policy.yaml"
    assert "changed by this agency" in policy.source("transfer_approval")
    assert len(policy.notes) == 1
    assert f"rules.transfer.{old_key}" in policy.notes[0] and f"rules.transfer_approval.{new_key}" in policy.notes[0]


def test_override__old_and_new_transfer_key_together_are_refused_naming_both():
    found = errors_for({"rules": {"transfer": {"self_approval": True}, "transfer_approval": {"self_approval": False}}})
    assert any(f == "rules.transfer.self_approval" and "rules.transfer_approval.self_approval" in r for f, r in found), found


def test_override__the_new_keys_are_checked_and_a_misspelt_rule_gets_a_did_you_mean():
    assert ("rules.transfer_approval.required", "must be true or false") in errors_for(
        {"rules": {"transfer_approval": {"required": "yes"}}})
    found = errors_for({"rules": {"transfer_aproval": {"required": False}}})
    assert any(f == "rules.transfer_aproval" and "did you mean 'rules.transfer_approval'" in r for f, r in found), found


def test_override__without_old_keys_there_is_no_note():
    policy, errors = build(policies.chain("inter-agency"), {"rules": {"transfer_approval": {"self_approval": True}}})
    assert not errors and policy.notes == ()


def test_policy_check__says_when_a_key_has_an_old_name(cli, repo, tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("rules:\n  transfer:\n    self_approval: true\n")
    checked = cli("policy", "check", str(old))
    assert checked.code == 0, checked.stderr
    assert "transfer_approval.self_approval" in checked.stderr and "old name" in checked.stderr
    shown = cli("policy", "check", str(old), "--json")
    assert shown.json()["notes"] and shown.json()["changed"] == ["transfer_approval.self_approval"]


POLICY_TEXT = ("# our agency: smaller caseloads (board minute 14/2026)\n"
               "rules:\n  caseload:\n    cap: 15   # the board's decision\n    warn_from: 12\n")


def test_policy_set__a_supervisor_puts_a_checked_file_in_place_in_one_signed_commit(cli, cli_as, repo, tmp_path):
    from conftest import commit_count, git_status, last_commit

    sup = cli_as("sup")
    new = tmp_path / "new-policy.yaml"
    new.write_text(POLICY_TEXT)
    commits = commit_count(repo)
    refused = cli("policy", "set", str(new))  # a caseworker
    assert refused.code == 4 and "only a supervisor or manager" in refused.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  caseload:\n    cap: fifteen\n    capp: 1\n")
    checked = sup("policy", "set", str(bad))
    assert checked.code == 4
    assert "rules.caseload.cap: must be a whole number" in checked.stderr and "rules.caseload.capp" in checked.stderr
    assert commit_count(repo) == commits and not (repo / ".cpcm" / "policy.yaml").exists()
    done = sup("policy", "set", str(new), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["changed"] == ["caseload.cap", "caseload.warn_from"] and done.json()["commit"]
    assert (repo / ".cpcm" / "policy.yaml").read_text() == POLICY_TEXT  # as written, comments and all
    assert commit_count(repo) == commits + 1 and git_status(repo) == []
    assert last_commit(repo)["subject"] == "policy set: caseload.cap, caseload.warn_from" and last_commit(repo)["author"] == "sup"
    assert sup("verify").code == 0  # signed by a supervisor: what verify expects of a change to the rules
    cap = next(r for r in cli("policy", "show", "--json").json()["rules"] if r["rule"] == "caseload" and r["key"] == "cap")
    assert cap["value"] == 15 and cap["set_in"] == ".cpcm/policy.yaml"
    again = sup("policy", "set", str(new))
    assert again.code == 0 and "no change" in again.stderr and commit_count(repo) == commits + 1


def test_policy_set__commits_a_file_put_in_place_by_hand_and_mends_a_broken_one(cli_as, repo, tmp_path):
    from conftest import commit_count, git_status

    sup = cli_as("sup")
    assert sup("policy", "set").code == 3  # none in place, and no FILE
    (repo / ".cpcm" / "policy.yaml").write_text(POLICY_TEXT)  # copied in by hand: not committed
    assert "cpcm policy set commits it" in sup("verify").stdout
    commits = commit_count(repo)
    assert sup("policy", "set").code == 0  # the one in place, checked and committed
    assert commit_count(repo) == commits + 1 and git_status(repo) == []
    assert sup("verify").code == 0
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: [\n")  # broken: every command stops
    assert sup("due").code == 4
    empty = tmp_path / "empty.yaml"
    empty.write_text("rules: {}\n")
    mended = sup("policy", "set", str(empty))
    assert mended.code == 0, mended.stderr
    assert "every value is the profile's" in mended.stderr
    assert sup("due").code == 0 and git_status(repo) == []


def test_policy_set__mends_a_broken_file_in_place_with_the_committed_one_without_a_commit(cli_as, repo, tmp_path):
    """The hint of a command stopped by a broken .cpcm/policy.yaml says: cpcm policy set FILE. Given
    the file the last commit holds, the one on disk is put back, with no commit (workflow.md: a
    file already committed changes nothing); it failed with 'git commit failed: nothing to commit'
    (exit 6), though the file was put back."""
    from conftest import commit_count, git_status

    sup = cli_as("sup")
    ours = tmp_path / "ours.yaml"
    ours.write_text(POLICY_TEXT)
    assert sup("policy", "set", str(ours)).code == 0
    commits = commit_count(repo)
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  review:\n    interval: monthly\n")  # broken by hand
    assert sup("due").code == 4
    mended = sup("policy", "set", str(ours), "--json")
    assert mended.code == 0, mended.stderr
    assert mended.json()["commit"] is None and commit_count(repo) == commits
    assert (repo / ".cpcm" / "policy.yaml").read_text() == POLICY_TEXT and git_status(repo) == []
    assert sup("due").code == 0 and sup("verify").code == 0


def test_policy_set__the_committed_file_over_one_edited_by_hand_says_it_was_put_back(cli_as, repo, tmp_path):
    """A valid edit to .cpcm/policy.yaml, then `cpcm policy set` given the file the last commit
    holds: the edit is replaced by the committed file (what was asked), and the message says so;
    it said 'no change: ... is that file already' while the edit on disk was gone."""
    from conftest import commit_count, git_status

    sup = cli_as("sup")
    ours = tmp_path / "ours.yaml"
    ours.write_text(POLICY_TEXT)
    assert sup("policy", "set", str(ours)).code == 0
    commits = commit_count(repo)
    assert "no change: .cpcm/policy.yaml is that file already" in sup("policy", "set", str(ours)).stderr
    assert sup("policy", "set", str(ours), "--json").json()["put_back"] is False
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 12\n")  # valid, by hand
    mended = sup("policy", "set", str(ours))
    assert mended.code == 0, mended.stderr
    # the put-back names no change: what it undid is the hand edit, not the committed file's changes from the profile
    assert "put back: .cpcm/policy.yaml as the last commit holds it, in place of the one changed by hand (no commit)\n" in mended.stderr
    assert "changing" not in mended.stderr
    assert "no change" not in mended.stderr
    assert (repo / ".cpcm" / "policy.yaml").read_text() == POLICY_TEXT and git_status(repo) == []
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 12\n")
    result = sup("policy", "set", str(ours), "--json").json()
    assert result["put_back"] is True and result["commit"] is None and commit_count(repo) == commits


def test_policy_set__a_caseworker_puts_back_the_committed_file_over_a_broken_one_but_changes_nothing(cli, cli_as, repo, tmp_path):
    """A caseworker whose own .cpcm/policy.yaml is broken (every command stops) was refused
    'only a supervisor or manager changes the agency's rules' when giving the file the last commit
    holds, though putting it back changes no rule and makes no commit (a supervisor's policy set on
    her own copy cannot reach this file). Anyone may put it back; a change still needs the role."""
    from conftest import commit_count, git_status

    ours = tmp_path / "ours.yaml"
    ours.write_text(POLICY_TEXT)
    assert cli_as("sup")("policy", "set", str(ours)).code == 0
    commits = commit_count(repo)
    (repo / ".cpcm" / "policy.yaml").write_text("rules: [\n")  # broken by hand
    stopped = cli("due")
    assert stopped.code == 4 and "git checkout HEAD -- .cpcm/policy.yaml" in stopped.stderr
    assert "Anyone puts back the file the last commit holds" in stopped.stderr
    mended = cli("policy", "set", str(ours), "--json")  # amina, a caseworker
    assert mended.code == 0, mended.stderr
    assert mended.json()["put_back"] is True and mended.json()["commit"] is None and commit_count(repo) == commits
    assert (repo / ".cpcm" / "policy.yaml").read_text() == POLICY_TEXT and git_status(repo) == []
    assert cli("due").code == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(POLICY_TEXT.replace("cap: 15", "cap: 14"))
    refused = cli("policy", "set", str(changed))
    assert refused.code == 4 and "only a supervisor or manager changes the agency's rules" in refused.stderr
    (repo / ".cpcm" / "policy.yaml").write_text("rules: [\n")
    assert cli("policy", "set", str(changed)).code == 4  # refused before the file is checked, the broken one left as it is
    assert commit_count(repo) == commits


def test_policy__a_broken_override_never_committed_is_removed_or_corrected_not_restored_from_git(cli, cli_as, repo, tmp_path):
    """A .cpcm/policy.yaml made by hand on a copy whose last commit holds none, and broken, stopped
    every command with the hint `git checkout HEAD -- .cpcm/policy.yaml`, which git refuses
    ("pathspec ... did not match"). Now the hint says the last commit holds none, and to delete it
    (the rules are then the profile's, as committed) or have it corrected and committed; one
    committed broken is not offered git's copy either (it is the same file)."""
    from conftest import signed_commit

    override = repo / ".cpcm" / "policy.yaml"
    assert not override.exists()
    override.write_text("foo: [unclosed\n")
    stopped = cli("due", "--json")
    assert stopped.code == 4, stopped.stderr
    hint = stopped.json()["hint"]
    assert "git checkout" not in hint and "The last commit holds no .cpcm/policy.yaml" in hint, hint
    assert "rm .cpcm/policy.yaml" in hint and "cpcm policy set" in hint
    override.unlink()  # as the hint says
    assert cli("due").code == 0
    override.write_text("rules: [\n")
    signed_commit(repo, "sup", "policy by hand", ".cpcm/policy.yaml")  # committed broken: git holds it as it is
    hint = cli("due", "--json").json()["hint"]
    assert "git checkout" not in hint and hint.startswith("The last commit holds .cpcm/policy.yaml as it is."), hint
    ours = tmp_path / "ours.yaml"
    ours.write_text(POLICY_TEXT)
    assert cli_as("sup")("policy", "set", str(ours)).code == 0
    override.write_text("rules: [\n")  # changed by hand since its commit: git's copy is put back, as before
    hint = cli("due", "--json").json()["hint"]
    assert hint.startswith("Anyone puts back the file the last commit holds") and "git checkout HEAD -- .cpcm/policy.yaml" in hint


def test_policy_set__a_caseworker_refused_over_her_broken_copy_is_told_how_anyone_puts_it_back(cli, cli_as, repo, tmp_path):
    """A caseworker whose .cpcm/policy.yaml is broken ran 'cpcm policy set', the first way the
    error that stops her commands offered, and was told only to ask a supervisor, whose policy set
    on another copy cannot reach this file. The error offers anyone's way first, and the refusal
    says this copy differs from the last commit and how to put that back."""
    ours = tmp_path / "ours.yaml"
    ours.write_text(POLICY_TEXT)
    assert cli_as("sup")("policy", "set", str(ours)).code == 0
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: thirty\n")  # broken by hand
    stopped = cli("due")
    assert stopped.code == 4, stopped.stderr
    hint = stopped.stderr[stopped.stderr.index("Anyone"):]  # anyone's way first, then a supervisor's
    assert "git checkout HEAD -- .cpcm/policy.yaml" in hint and hint.index("git checkout") < hint.index("Correct .cpcm/policy.yaml")
    refused = cli("policy", "set")  # amina, a caseworker
    assert refused.code == 4 and "only a supervisor or manager changes the agency's rules" in refused.stderr
    assert ".cpcm/policy.yaml on this copy differs from the last commit" in refused.stderr, refused.stderr
    assert f"git -C {repo} checkout HEAD -- .cpcm/policy.yaml" in refused.stderr
    assert f"git -C {repo} show HEAD:.cpcm/policy.yaml > FILE, then cpcm policy set FILE" in refused.stderr
    (repo / ".cpcm" / "policy.yaml").write_text(POLICY_TEXT)  # as committed: nothing to put back, nothing said of it
    changed = tmp_path / "changed.yaml"
    changed.write_text(POLICY_TEXT.replace("cap: 15", "cap: 14"))
    refused = cli("policy", "set", str(changed))
    assert refused.code == 4 and "differs from the last commit" not in refused.stderr


def test_policy_set__without_file_names_the_file_in_place_in_its_errors(cli_as, repo):
    """`cpcm policy set` with no FILE checks the .cpcm/policy.yaml in place; a wrong one was called
    'FILE' ('the policy (... with FILE) is not valid ... Correct FILE'), which was never typed;
    its errors name .cpcm/policy.yaml, as `cpcm policy check` does (workflow.md)."""
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: many\n")
    sup = cli_as("sup")
    checked = sup("policy", "check")
    refused = sup("policy", "set")
    assert refused.code == checked.code == 4
    assert "with .cpcm/policy.yaml) is not valid" in refused.stderr and "Correct .cpcm/policy.yaml" in refused.stderr
    assert "FILE" not in refused.stderr.replace("cpcm policy set FILE", "")
    assert refused.stderr == checked.stderr


def test_policy_check__the_file_in_place_not_yet_committed_points_to_policy_set(cli_as, repo):
    """A lone worker follows workflow.md: edits .cpcm/policy.yaml, runs `cpcm policy check`, and was
    told only 'valid'; the file was in force on that laptop alone and `cpcm verify` failed."""
    sup = cli_as("sup")
    (repo / ".cpcm" / "policy.yaml").write_text(POLICY_TEXT)  # edited by hand
    checked = sup("policy", "check")
    assert checked.code == 0 and "next: .cpcm/policy.yaml is not committed" in checked.stderr, checked.stderr
    assert "cpcm policy set" in checked.stderr and sup("policy", "check", "--json").json()["committed"] is False
    assert sup("policy", "set").code == 0
    again = sup("policy", "check")
    assert again.code == 0 and "not committed" not in again.stderr and sup("policy", "check", "--json").json()["committed"] is True
    assert sup("verify").code == 0


def test_override__every_problem_at_once_a_misspelt_rule_and_the_checks_across_rules():
    """A key that is no rule does not hide a bad value, nor a value that does not fit another."""
    found = errors_for({"rules": {"reviw": {"interval": "1mo"}, "caseload": {"warn_from": 30},
                                  "initial_assessment": {"target": "72h"}, "case_plan": {"limit": "-1d"}}})
    assert {field for field, _ in found} >= {"rules.reviw", "rules.caseload.warn_from", "rules.initial_assessment.target",
                                             "rules.case_plan.limit"}, found


@pytest.mark.parametrize("override, field", [({"rules": {"caseload": 5}}, "rules.caseload"),
                                             ({"rules": {"risk_response": {"limit": 3}}}, "rules.risk_response.limit"),
                                             ({"rules": {"initial_assessment": {"target": 5}}}, "rules.initial_assessment.target")])
def test_override__a_rule_that_is_not_a_mapping_is_named_once_the_checks_across_rules_skip_it(override, field):
    found = errors_for(override)
    assert [f for f, _ in found] == [field], found  # once: by the check of values, not again by the check of keys


def test_policy_check__a_misspelt_purpose_of_the_home_visits_not_counted_is_named_with_the_known_ones(cli, repo, tmp_path):
    """A purpose `placement_monitoring.not_counted` names that no follow-up has (crisiss) would
    leave every crisis visit counted as a monitoring visit, without a word: the check names the
    key and the purposes of the follow-up form. An empty list (every visit counts) is valid."""
    from cpcm.domain.profiles import FOLLOWUP_PURPOSES
    from cpcm.store import forms

    assert FOLLOWUP_PURPOSES == tuple(forms.load("followup").field("purpose").choices)  # one list: the form's
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  placement_monitoring:\n    not_counted: [crisiss]\n")
    checked = cli("policy", "check", str(bad))
    assert checked.code == 4, checked.stderr
    assert "rules.placement_monitoring.not_counted[0]: 'crisiss' is not a follow-up's purpose (cpcm followup --purpose) " \
           "(monitoring, plan_action, crisis, pre_closure, post_closure, other)" in checked.stderr
    for good in ("[crisis, other]", "[]"):
        bad.write_text(f"rules:\n  placement_monitoring:\n    not_counted: {good}\n")
        assert cli("policy", "check", str(bad)).code == 0


def test_policy_check__a_referral_check_required_is_one_cpcm_refer_can_confirm(cli, repo, tmp_path):
    """`referral_checks.required: [provider_tol]` was valid, and then every referral was refused for a
    check no `--check` (nor the referral form's `checks`) could confirm: the check names the key and
    the four checks of the referral form."""
    from cpcm.domain.profiles import REFERRAL_CHECKS
    from cpcm.store import forms

    form = forms.load("referral")
    assert REFERRAL_CHECKS == tuple(f.key.partition(".")[2] for f in form.fields if f.key.startswith("checks."))  # one list
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  referral_checks:\n    required: [need_matched, provider_tol]\n")
    checked = cli("policy", "check", str(bad))
    assert checked.code == 4, checked.stderr
    assert "rules.referral_checks.required[1]: 'provider_tol' is not a check done before referring (cpcm refer --check) " \
           "(eligibility_known, need_matched, cost_distance_considered, provider_told)" in checked.stderr
    for good in ("[need_matched, provider_told]", "[eligibility_known]"):
        bad.write_text(f"rules:\n  referral_checks:\n    required: {good}\n")
        assert cli("policy", "check", str(bad)).code == 0


def test_policy_check__each_unknown_entry_of_a_list_of_names_is_named_by_its_place(cli, repo, tmp_path):
    """Entries written as words (`Need_Matched`, `cost distance considered`) are shown as '…', so two
    bad ones gave two identical lines and nothing said which: each is named by its place in the
    list, counted from 0, as a closure checklist's items are."""
    bad = tmp_path / "bad.yaml"
    for rule, names, places in (
            ("referral_checks:\n    required", "[eligibility_known, Need_Matched, cost distance considered, provider_told]",
             ["rules.referral_checks.required[1]", "rules.referral_checks.required[2]"]),
            ("placement_monitoring:\n    not_counted", "[Crisis, post closure]",
             ["rules.placement_monitoring.not_counted[0]", "rules.placement_monitoring.not_counted[1]"])):
        bad.write_text(f"rules:\n  {rule}: {names}\n")
        checked = cli("policy", "check", str(bad))
        assert checked.code == 4, checked.stderr
        named = [line.strip().partition(": ")[0] for line in checked.stderr.splitlines() if line.strip().startswith("- rules.")]
        assert named == [f"- {place}" for place in places], checked.stderr
        assert "Need" not in checked.stderr and "post closure" not in checked.stderr and "Crisis" not in checked.stderr


def test_policy_check__an_entry_of_a_list_of_names_that_is_not_a_name_is_named_by_its_place(cli, repo, tmp_path):
    """`required: [eligibility_known, 5, true]` was refused as 'must be a non-empty list of names',
    which the list is not, and named no entry: each entry that is not a name is named by its place,
    beside a misspelt one, and 'non-empty' is said only of an empty list."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  referral_checks:\n    required: [eligibility_known, 5, true]\n")
    checked = cli("policy", "check", str(bad))
    assert checked.code == 4, checked.stderr
    assert "rules.referral_checks.required[1]: is not a name" in checked.stderr
    assert "rules.referral_checks.required[2]: is not a name" in checked.stderr
    assert "non-empty" not in checked.stderr
    bad.write_text("rules:\n  referral_checks:\n    required: [eligibility_known, need_matchd, 5]\n")
    checked = cli("policy", "check", str(bad))
    named = [line.strip().partition(": ")[0] for line in checked.stderr.splitlines() if line.strip().startswith("- rules.")]
    assert sorted(named) == ["- rules.referral_checks.required[1]", "- rules.referral_checks.required[2]"], checked.stderr
    bad.write_text("rules:\n  referral_checks:\n    required: []\n")
    assert "rules.referral_checks.required: must be a non-empty list of names" in cli("policy", "check", str(bad)).stderr


def test_policy_check__a_misspelt_answer_of_who_the_child_lives_with_is_named_with_the_known_ones(cli, repo, tmp_path):
    """`placement.at_home: [both_parents, mothr]` was valid: a child living with their mother then counted as apart
    from their family, and a move to an uncle was marked a reunification. Each answer at_home and lives_with list
    is one the registration asks."""
    from cpcm.domain.profiles import LIVES_WITH
    from cpcm.store import forms

    assert LIVES_WITH == tuple(forms.load("registration").field("lives_with").choices)  # one list: the form's
    bad = tmp_path / "bad.yaml"
    for rules, where in (("at_home: [both_parents, mothr]", "at_home[1]"), ("lives_with:\n      apart: [streat]", "lives_with.apart[0]")):
        bad.write_text(f"rules:\n  placement:\n    {rules}\n")
        checked = cli("policy", "check", str(bad))
        assert checked.code == 4, checked.stderr
        assert f"rules.placement.{where}: '{rules.split('[')[1].split(']')[0].split(', ')[-1]}' is not who a child lives " \
               "with (cpcm register: lives_with)" in checked.stderr, checked.stderr
    bad.write_text("rules:\n  placement:\n    at_home: [both_parents, mother]\n")
    assert cli("policy", "check", str(bad)).code == 0


def test_override__who_the_child_lives_with_means_one_setting_an_agency_may_move_relatives_out_of_the_family():
    """`placement.lives_with` puts the other answers of who the child lives with in a setting (the one a
    first placement moves the child from; at_home is the family): an agency that reads living with
    relatives as kinship care moves it there; one answer under two lists is refused, naming both, as is
    a setting that is none."""
    from cpcm.workflow.placements import registered_setting

    kenya = policies.load("kenya")
    assert [registered_setting(v, kenya) for v in ("relatives", "foster_family", "institution", "street", None)] == \
        ["family", "family_based", "residential", "apart", "apart"]
    moved = {"placement": {"at_home": ["both_parents", "mother", "father"],
                           "lives_with": {"family_based": ["foster_family", "relatives"], "residential": []}}}
    policy, errors = build(policies.chain("kenya"), {"rules": moved})
    assert not errors and registered_setting("relatives", policy) == "family_based", errors
    assert registered_setting("institution", policy) == "apart"
    found = errors_for({"rules": {"placement": {"lives_with": {"family_based": ["foster_family", "relatives"]}}}})
    assert ("rules.placement.lives_with.family_based", "'relatives' is listed under placement.at_home too: it means "
            "one setting") in found, found
    found = errors_for({"rules": {"placement": {"lives_with": {"family": ["relatives"]}}}})
    assert any(f == "rules.placement.lives_with.family" for f, _ in found), found


def test_override__who_lives_at_home_is_the_placement_rules_list_read_under_its_old_name_with_a_note():
    """`placement.at_home` is the one list of who the child lives with at home, which the placements
    and the readiness comment after a conference read: an agency's file that still names it under
    the readiness rule keeps working, with a note; an empty list counts every child as apart."""
    from cpcm.workflow.placements import family_home

    kenya = policies.chain("kenya")
    assert family_home(policies.load("kenya")) == ("both_parents", "mother", "father", "relatives")
    assert "at_home" not in policies.load("kenya").rules["conference_readiness"]
    policy, errors = build(kenya, {"rules": {"conference_readiness": {"at_home": ["both_parents"]}}}, ".cpcm/policy.yaml")
    assert not errors and family_home(policy) == ("both_parents",)
    assert policy.origins["placement.at_home"] == ".cpcm/policy.yaml"
    assert "rules.conference_readiness.at_home" in policy.notes[0] and "rules.placement.at_home" in policy.notes[0]
    for override in ({"placement": {"at_home": []}}, {"conference_readiness": {"at_home": []}}):
        policy, errors = build(kenya, {"rules": override})
        assert not errors and family_home(policy) == (), errors
    found = errors_for({"rules": {"conference_readiness": {"at_home": ["mother"]}, "placement": {"at_home": ["father"]}}})
    assert any(f == "rules.conference_readiness.at_home" and "rules.placement.at_home" in r for f, r in found), found
