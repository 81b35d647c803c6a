"""Retention of closed cases (IAG Record Keeping [L687] [L948]; the period is the policy's
`retention.closed_for`, cpcm's default 7y, the agency's to set): once it has ended since the
closure was approved, `cpcm due` lists the case for the managers only (`retention-ended`), and
`cpcm check` warns of it; a manager decides with `cpcm retention`: keep it until a date (the item
comes back that day) or restrict it, re-encrypting its current records to the managers (and the
recovery keys) only. A caseworker or supervisor may not decide; the child's name never appears."""
from __future__ import annotations

import pytest

from conftest import CANARY, NOW, Cli, commit_count, git, make_identity, record_files, register, signing_line
from cpcm.store.layout import case_dir

CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
BEFORE = "2033-09-22T09:00:00+03:00"  # two months before the 7 years since the closure (NOW) end
AFTER = "2033-11-24T09:00:00+03:00"  # the day after
KEPT = "2034-06-30"
BACK = "2034-07-01T09:00:00+03:00"  # the day after the day it was kept until


@pytest.fixture
def closed(repo, cli_as, tmp_env):
    """(case id, the manager's Cli): a case of amina's closed at NOW (registered in error, the
    closure approved by sup), and a manager, mgr, added to the team."""
    amina, sup = cli_as("amina"), cli_as("sup")
    key = tmp_env / "mgr.txt"
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(key), "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    case_id = register(amina, child=CHILD)
    closing = amina("close", case_id, "--reason", "registered_in_error", "--check", "error_confirmed")
    assert closing.code == 0, closing.stderr
    approved = sup("approve", case_id, "closure")
    assert approved.code == 0, approved.stderr
    return case_id, Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})


def items(cli, *args: str, when: str) -> list[tuple[str, str]]:
    result = cli("due", "--json", *args, env={"CPCM_NOW": when})
    assert result.code == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    return [(item["code"], item["case_id"]) for item in result.json()]


def check_codes(cli, when: str) -> list[tuple[str, str]]:
    result = cli("check", "--json", env={"CPCM_NOW": when})
    assert CANARY not in result.stdout + result.stderr
    return [(p["code"], p["case_id"]) for p in result.json()["problems"]] if isinstance(result.json(), dict) \
        else [(p["code"], p["case_id"]) for p in result.json()]


@pytest.mark.parametrize("tables", [True, False], ids=["due-view", "no-tables"])
def test_due__retention_ended_is_listed_for_a_manager_only_once_closed_for_has_passed(closed, cli_as, monkeypatch, tables):
    case_id, mgr = closed
    if not tables:
        from cpcm.service import tables as tables_mod

        monkeypatch.setattr(tables_mod, "_session", lambda ctx: None)
    amina, sup = cli_as("amina"), cli_as("sup")
    wanted = ("retention-ended", case_id)
    assert wanted not in items(mgr, when=BEFORE)  # the 7 years have not passed
    assert wanted not in items(mgr, "--worker", "all", when=BEFORE)
    assert wanted in items(mgr, when=AFTER)
    assert wanted in items(mgr, "--worker", "all", when=AFTER)
    assert wanted in items(mgr, "--overdue", when=AFTER)
    for other in (amina, sup):  # the managers' decision: on nobody else's list
        assert wanted not in items(other, when=AFTER)
        assert wanted not in items(other, "--worker", "all", when=AFTER)
    assert wanted not in items(mgr, "--worker", "amina", when=AFTER)
    item = next(i for i in mgr("due", "--json", env={"CPCM_NOW": AFTER}).json() if i["code"] == "retention-ended")
    assert item["owner"] == "managers" and "IAG Record Keeping" in item["source"]
    assert f"cpcm retention {case_id} --keep-until" in item["why"] and "--restrict" in item["why"]
    text = mgr("due", env={"CPCM_NOW": AFTER})
    assert "retention period: decide: keep or restrict" in text.stdout and CANARY not in text.stdout + text.stderr
    # cpcm check: a warning, from then on, for the managers only (as their due): nobody else acts on it
    assert ("retention-ended", case_id) in check_codes(mgr, AFTER)
    assert ("retention-ended", case_id) not in check_codes(mgr, BEFORE)
    for other in (amina, sup):  # the case's own worker, and a supervisor: readers of the case, not its deciders
        assert wanted not in check_codes(other, AFTER)
        shown = other("check", case_id, "--json", env={"CPCM_NOW": AFTER})
        assert "retention-ended" not in shown.stdout, shown.stdout
        assert "retention-ended" not in other("show", case_id, "--json", env={"CPCM_NOW": AFTER}).stdout
    assert "retention-ended" in mgr("check", case_id, "--json", env={"CPCM_NOW": AFTER}).stdout
    assert "retention-ended" in mgr("show", case_id, "--json", env={"CPCM_NOW": AFTER}).stdout


def test_retention__keep_until_takes_the_item_off_until_that_day(closed, repo):
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    before = commit_count(repo)
    kept = mgr("retention", case_id, "--keep-until", KEPT, "--reason", "a court case is pending", "--json", env=later)
    assert kept.code == 0, kept.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").startswith(f"retention {case_id} ")
    assert CANARY not in kept.stdout + kept.stderr
    assert ("retention-ended", case_id) not in items(mgr, when=AFTER)
    assert ("retention-ended", case_id) not in items(mgr, "--worker", "all", when="2034-05-01T09:00:00+03:00")
    assert ("retention-ended", case_id) in items(mgr, when=BACK)  # the day has come: decide again
    assert ("retention-ended", case_id) not in check_codes(mgr, AFTER)
    # the day must be after today, and a date
    for bad in ("2033-11-01", "next year"):
        refused = mgr("retention", case_id, "--keep-until", bad, "--reason", "pending", "--json", env=later)
        assert refused.code == 4 and refused.json()["fields"][0]["field"] == "keep_until", refused.stdout
    assert commit_count(repo) == before + 1


def test_retention__restrict_reencrypts_the_current_records_to_the_managers_only(closed, repo, cli_as, team, tmp_env):
    from cpcm.crypto import cipher

    case_id, mgr = closed
    amina, sup = cli_as("amina"), cli_as("sup")
    later = {"CPCM_NOW": AFTER}
    folder = case_dir(repo, case_id)
    assert amina("show", case_id, env=later).code == 0  # her case: she reads it until it is restricted
    before = commit_count(repo)
    restricted = mgr("retention", case_id, "--restrict", "--reason", "retention period ended under the agency protocol",
                     env=later)
    assert restricted.code == 0, restricted.stderr
    assert commit_count(repo) == before + 1
    lines = (folder / "recipients").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == ["mgr"]
    assert "# restricted: managers only (cpcm retention)" in lines
    records = record_files(repo, case_id)
    assert len(records) >= 4  # registration, closure, approval, the retention decision
    opened = []
    for path in records:  # no current record opens with the caseworker's or the supervisor's key; each with the manager's
        with pytest.raises(cipher.NotARecipient):
            cipher.decrypt(path.read_bytes(), _keys(team["amina"][0]))
        with pytest.raises(cipher.NotARecipient):
            cipher.decrypt(path.read_bytes(), _keys(team["sup"][0]))
        opened.append(cipher.decrypt(path.read_bytes(), _keys(tmp_env / "mgr.txt")))
    assert any(CANARY.encode() in text for text in opened)  # the registration, whole, for the manager
    refused = amina("show", case_id, env=later)
    assert refused.code == 5 and "restricted it to the managers" in refused.stderr
    assert sup("show", case_id, env=later).code == 5
    assert mgr("show", case_id, env=later).code == 0
    for other in (amina, sup):  # nobody else lists it, nor has it on their due
        listed = other("list", "--json", env=later)
        assert listed.code == 0 and case_id not in listed.stdout
        assert case_id not in {c for _, c in items(other, "--worker", "all", when=AFTER)}
    assert case_id in mgr("list", "--json", env=later).stdout
    assert ("retention-ended", case_id) not in items(mgr, when=AFTER)  # decided: nothing more to do
    # a team change keeps it restricted: a new supervisor added does not read it, the manager's team sync leaves it so
    key = tmp_env / "sup2.txt"
    assert sup("team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(key), "--signing-key",
               signing_line(key), env=later).code == 0
    assert mgr("team", "sync", env=later).code == 0
    assert [line for line in (folder / "recipients").read_text().splitlines() if not line.startswith("#")] == ["mgr"]
    # a second restriction has nothing to do
    again = mgr("retention", case_id, "--restrict", "--reason", "again", "--json", env=later)
    assert again.code == 4 and again.json()["rule"] == "retention-restricted"
    verified = mgr("verify", env=later)  # the re-encryption is one `verify` knows, the readers as the restriction says
    assert verified.code == 0, verified.stdout + verified.stderr
    # reopened, it stays restricted until a manager assigns it to a worker again
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    assert amina("show", case_id, env=later).code == 5
    assert mgr("assign", case_id, "--worker", "amina", env=later).code == 0
    assert amina("show", case_id, env=later).code == 0
    assert "# restricted" not in (folder / "recipients").read_text()
    # the child's name is nowhere on disk in plaintext, nor in a commit message
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in git(repo, "log", "--format=%s%n%b")


def _keys(path):
    from cpcm.crypto import identity

    return identity.load(path, lambda: None).keys


def test_retention__refused_for_anyone_but_a_manager_and_before_the_period_ends(closed, repo, cli_as):
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    before = commit_count(repo)
    for worker in ("amina", "sup"):
        refused = cli_as(worker)("retention", case_id, "--restrict", "--reason", "ended", "--json", env=later)
        assert refused.code == 4, refused.stderr
        assert refused.json()["rule"] == "retention-needs-manager"
        assert "only a manager" in refused.stderr
    early = mgr("retention", case_id, "--restrict", "--reason", "ended", "--json", env={"CPCM_NOW": BEFORE})
    assert early.code == 4 and early.json()["rule"] == "retention-not-ended", early.stdout
    both = mgr("retention", case_id, "--restrict", "--keep-until", KEPT, "--reason", "ended", env=later)
    assert both.code == 2
    # the reason may not hold the child's registered name: refused naming the field, never the name
    named = mgr("retention", case_id, "--keep-until", KEPT, "--reason", f"{CANARY} asked", "--json", env=later)
    assert named.code == 4 and named.json()["fields"][0]["field"] == "reason"
    assert CANARY not in named.stdout + named.stderr
    assert commit_count(repo) == before


def test_policy__a_bad_retention_period_is_refused_naming_the_key(closed, cli_as, tmp_env, repo):
    sup = cli_as("sup")
    before = commit_count(repo)
    policy = tmp_env / "policy.yaml"
    policy.write_text("rules:\n  retention:\n    closed_for: seven years\n")
    refused = sup("policy", "set", str(policy), "--json")
    assert refused.code in (2, 4), refused.stderr
    assert "rules.retention.closed_for" in refused.stdout + refused.stderr
    assert commit_count(repo) == before
    policy.write_text("rules:\n  retention:\n    closed_for: 10y\n")
    assert sup("policy", "set", str(policy)).code == 0
    case_id, mgr = closed
    assert ("retention-ended", case_id) not in items(mgr, when=AFTER)  # 10 years now
    assert ("retention-ended", case_id) in items(mgr, when="2036-11-24T09:00:00+03:00")


def test_report_retention__counts_closed_cases_by_year_and_place_in_retention(closed, cli_as):
    case_id, mgr = closed
    amina = cli_as("amina")
    other = register(amina, child=dict(CHILD, name="Another Child"))  # open: not counted
    later = {"CPCM_NOW": AFTER}

    def by_year(when: str) -> dict:
        result = mgr("report", "retention", "--json", env={"CPCM_NOW": when})
        assert result.code == 0, result.stderr
        assert CANARY not in result.stdout + result.stderr and "Another Child" not in result.stdout
        view = result.json()
        return {row["year"]: {k: row[k] for k in ("within", "ended", "kept", "restricted")} for row in view["by_year"]}, view

    counts, view = by_year(BEFORE)
    assert counts == {2026: {"within": 1, "ended": 0, "kept": 0, "restricted": 0}} and view["ended"] == []
    counts, view = by_year(AFTER)
    assert counts == {2026: {"within": 0, "ended": 1, "kept": 0, "restricted": 0}}
    assert [row["case_id"] for row in view["ended"]] == [case_id] and other not in str(view)
    assert mgr("retention", case_id, "--keep-until", KEPT, "--reason", "court case", env=later).code == 0
    assert by_year(AFTER)[0] == {2026: {"within": 0, "ended": 0, "kept": 1, "restricted": 0}}
    assert mgr("retention", case_id, "--restrict", "--reason", "period over", env={"CPCM_NOW": BACK}).code == 0
    assert by_year(BACK)[0] == {2026: {"within": 0, "ended": 0, "kept": 0, "restricted": 1}}
    for fmt, heading in (("md", "Retention of closed cases"), ("html", "Retention of closed cases"), ("csv", "retention,by_year,2026")):
        shown = mgr("report", "retention", "--format", fmt, env={"CPCM_NOW": BACK})
        assert shown.code == 0 and heading in shown.stdout and CANARY not in shown.stdout, shown.stderr


def test_sync__a_restriction_lifted_on_one_copy_stands_when_the_other_wrote_to_the_case_while_restricted(closed, repo, cli_as,
                                                                                                      tmp_env):
    """The manager restricts the case, then on a second copy reopens it and gives it back to amina,
    while the first copy adds a note to it, still restricted: after the sync the case is amina's
    again (the lift changed the restriction; the note did not), and her key opens every record."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    other, mgr2 = _two_copies(case_id, mgr, tmp_env)
    assert mgr2("reopen", case_id, "--reason", "new information", env=later).code == 0
    assert mgr2("assign", case_id, "--worker", "amina", env=later).code == 0
    assert mgr2("sync", env=later).code == 0
    assert mgr("note", case_id, "--text", "file checked", env=later).code == 0
    synced = mgr("sync", env=later)
    assert synced.code == 0, synced.stderr
    recipients = (case_dir(repo, case_id) / "recipients").read_text()
    assert "# restricted" not in recipients and "amina" in recipients.split()
    shown = cli_as("amina")("show", case_id, env=later)
    assert shown.code == 0, shown.stderr


def _entry(cli, case_id: str, env: dict) -> str:
    added = cli("confidential", "add", case_id, "--text", f"what {CANARY} said", "--json", env=env)
    assert added.code == 0, added.stderr
    return added.json()["entry_id"]


def _entry_readers(repo, entry_id: str) -> list[str]:
    return [line for line in (repo / "confidential" / entry_id / "recipients").read_text().splitlines()
            if line and not line.startswith("#")]


def _opens(key, repo, entry_id: str) -> bool:
    from cpcm.crypto import cipher

    (path,) = sorted((repo / "confidential" / entry_id).glob("*.yaml.age"))
    try:
        cipher.decrypt(path.read_bytes(), _keys(key))
    except cipher.NotARecipient:
        return False
    return True


def test_retention__a_restricted_cases_confidential_entries_are_read_by_the_managers_only_until_it_is_given_back(
        closed, repo, cli_as, team, tmp_env):
    """The restriction covers the case's strictly confidential section: restrict re-encrypts its
    entries to the managers in the same commit; an entry written while restricted, a team change's
    re-encryption keep them so; an assignment to a worker gives them their readers back."""
    case_id, mgr = closed
    amina, sup = cli_as("amina"), cli_as("sup")
    later = {"CPCM_NOW": AFTER}
    before_restriction = _entry(amina, case_id, later)
    assert _entry_readers(repo, before_restriction) == ["amina", "sup", "mgr"]
    commits = commit_count(repo)
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert commit_count(repo) == commits + 1  # the entries in the restriction's one commit
    assert _entry_readers(repo, before_restriction) == ["mgr"]
    assert not _opens(team["amina"][0], repo, before_restriction) and not _opens(team["sup"][0], repo, before_restriction)
    assert _opens(tmp_env / "mgr.txt", repo, before_restriction)
    # reopened by the manager, still restricted: an entry written now is the managers' only
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    while_restricted = _entry(mgr, case_id, later)
    assert _entry_readers(repo, while_restricted) == ["mgr"]
    # a supervisor added, the manager's team sync: the entries stay the managers'
    key = tmp_env / "sup2.txt"
    assert sup("team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(key), "--signing-key",
               signing_line(key), env=later).code == 0
    assert mgr("team", "sync", env=later).code == 0
    assert _entry_readers(repo, before_restriction) == ["mgr"] and _entry_readers(repo, while_restricted) == ["mgr"]
    # in line as the restriction has them: no manager is asked to bring them in line (confidential-readers)
    listed = mgr("due", "--json", "--worker", "all", env=later)
    assert listed.code == 0 and "confidential-readers" not in {item["code"] for item in listed.json()}, listed.stdout
    verified = mgr("verify", env=later)
    assert verified.code == 0, verified.stdout + verified.stderr
    # given back to a worker: the restriction ends, and the entries are read as the rule has them again
    assert mgr("assign", case_id, "--worker", "amina", env=later).code == 0
    assert _entry_readers(repo, before_restriction) == ["amina", "sup", "mgr", "sup2"]
    assert _entry_readers(repo, while_restricted) == ["mgr", "sup", "sup2"]
    assert _opens(team["amina"][0], repo, before_restriction) and _opens(key, repo, while_restricted)
    verified = mgr("verify", env=later)
    assert verified.code == 0, verified.stdout + verified.stderr
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in git(repo, "log", "--format=%s%n%b")


def test_assign_cover__refused_on_a_restricted_case_nothing_written(closed, repo, cli_as):
    """A cover would re-encrypt a restricted (reopened) case to more than the managers: refused,
    naming the way (give it to a worker first), and nothing is written."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    folder = case_dir(repo, case_id)
    recipients, commits = (folder / "recipients").read_text(), commit_count(repo)
    refused = mgr("assign", case_id, "--cover", "otieno", "--until", "2033-12-31", "--json", env=later)
    assert refused.code == 4, refused.stdout + refused.stderr
    assert refused.json()["rule"] == "cover-case-restricted"
    assert f"cpcm assign {case_id} --worker" in refused.stdout + refused.stderr
    assert (folder / "recipients").read_text() == recipients and commit_count(repo) == commits
    assert cli_as("otieno")("show", case_id, env=later).code == 5 and cli_as("amina")("show", case_id, env=later).code == 5
    assert CANARY not in refused.stdout + refused.stderr


def test_due__an_open_case_left_restricted_is_listed_for_the_managers(closed, cli_as):
    """Reopened by a manager and given to nobody, a restricted case is open and nobody's but the
    managers': `restricted-open` on their lists (and `check`), until it is given to a worker."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert ("restricted-open", case_id) not in items(mgr, when=AFTER)  # closed: nothing to do
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    assert ("restricted-open", case_id) in items(mgr, when=AFTER)
    assert ("restricted-open", case_id) in items(mgr, "--worker", "all", when=AFTER)
    assert ("restricted-open", case_id) in check_codes(mgr, AFTER)
    for other in (cli_as("amina"), cli_as("sup")):
        assert ("restricted-open", case_id) not in items(other, "--worker", "all", when=AFTER)
    item = next(i for i in mgr("due", "--json", env=later).json() if i["code"] == "restricted-open")
    assert item["owner"] == "managers" and f"cpcm assign {case_id} --worker W" in item["why"]
    assert mgr("assign", case_id, "--worker", "amina", env=later).code == 0
    assert ("restricted-open", case_id) not in items(mgr, "--worker", "all", when=AFTER)


def test_sync__a_reopening_on_one_copy_and_a_restriction_on_the_other_leave_the_managers_told(closed, repo, tmp_env, team):
    """Copy A reopens a closed case while copy B restricts it: the merge keeps the restriction (a
    manager restricted it), and the managers are told the open case is restricted (`restricted-open`)."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    other, mgr2 = _two_copies(case_id, mgr, tmp_env)
    assert mgr2("reopen", case_id, "--reason", "new information", env=later).code == 0
    written = _entry(mgr2, case_id, later)  # a strictly confidential entry written there, not restricted yet
    assert _entry_readers(other, written) == ["mgr", "sup"]
    assert mgr2("sync", env=later).code == 0
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    synced = mgr("sync", env=later)
    assert synced.code == 0, synced.stderr
    assert "# restricted" in (case_dir(repo, case_id) / "recipients").read_text()
    assert _entry_readers(repo, written) == ["mgr"]  # the entry follows its case's restriction in the merge
    assert ("restricted-open", case_id) in items(mgr, when=AFTER)
    assert ("restricted-open", case_id) in check_codes(mgr, AFTER)


def test_sync__an_entry_written_on_a_restricted_case_stays_the_managers_after_a_merge(closed, repo, cli_as, tmp_env):
    """The case restricted on both copies; one copy writes a strictly confidential entry on it (the
    managers only), the other writes elsewhere: the merge, which does not touch the case itself,
    keeps the entry the managers' only."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    other, mgr2 = _two_copies(case_id, mgr, tmp_env)
    written = _entry(mgr2, case_id, later)
    assert _entry_readers(other, written) == ["mgr"]
    assert mgr2("note", case_id, "--text", "file checked", env=later).code == 0  # the case itself, its readers unchanged
    assert mgr2("sync", env=later).code == 0
    register(cli_as("amina"), child=dict(CHILD, name="Another Child"))  # this copy writes too: a merge
    synced = mgr("sync", env=later)
    assert synced.code == 0, synced.stderr
    assert _entry_readers(repo, written) == ["mgr"]
    recipients = (case_dir(repo, case_id) / "recipients").read_text()
    assert "# restricted" in recipients and [line for line in recipients.splitlines() if not line.startswith("#")] == ["mgr"]


def test_assign_batch__a_restricted_case_reopened_is_given_back_to_its_own_worker_as_one_assign_gives_it(closed, repo, cli_as,
                                                                                                        tmp_path):
    """`assign --batch` (and `--from-worker`) check an assignment as `assign` does (`context.assignment_checks`):
    a restricted case reopened is given back to the worker it still names, not refused as already theirs."""
    import json

    case_id, mgr = closed
    amina = cli_as("amina")
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "period ended", env=later).code == 0
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    assert amina("show", case_id, env=later).code == 5
    path = tmp_path / "back.json"
    path.write_text(json.dumps([{"case": case_id, "worker": "amina"}]))
    done = mgr("assign", "--batch", str(path), "--json", env=later)
    assert done.code == 0, done.stderr
    assert amina("show", case_id, env=later).code == 0
    assert "# restricted" not in (case_dir(repo, case_id) / "recipients").read_text()
    assert CANARY not in done.stdout + done.stderr


def test_assign__a_restricted_case_given_back_to_its_own_worker_is_not_counted_twice_against_the_cap(closed, repo, cli_as):
    """Reopened while restricted, the case is amina's open case already: giving it back to her adds
    none to her caseload, so a cap of one open case does not refuse it."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  caseload:\n    cap: 1\n    warn_from: 1\n    over_cap: refuse\n")
    given = mgr("assign", case_id, "--worker", "amina", env=later)
    assert given.code == 0, given.stderr
    assert cli_as("amina")("show", case_id, env=later).code == 0


def test_retention__an_entry_excluding_every_manager_stays_with_its_readers_and_nobody_is_asked_to_bring_it_in_line(
        closed, repo, cli_as):
    """Restricted to the managers, an entry that excludes every one of them would be read by nobody:
    it keeps its readers, and no `confidential-readers` item asks what no team sync could do."""
    case_id, mgr = closed
    amina, sup = cli_as("amina"), cli_as("sup")
    later = {"CPCM_NOW": AFTER}
    added = amina("confidential", "add", case_id, "--text", "kept from the manager", "--exclude", "mgr", "--json", env=later)
    assert added.code == 0, added.stderr
    entry_id = added.json()["entry_id"]
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert _entry_readers(repo, entry_id) == ["amina", "sup"]
    for who in (sup, amina):
        listed = who("due", "--json", "--worker", "all", env=later)
        assert listed.code == 0 and "confidential-readers" not in {i["code"] for i in listed.json()}, listed.stdout


LATER = "2033-11-24T11:00:00+03:00"
LATEST = "2033-11-24T12:00:00+03:00"


def _two_copies(case_id, mgr, tmp_env):
    """The repository synced to a shared place and a second copy of it cloned: (the second copy's
    path, the manager's Cli there)."""
    import subprocess

    later = {"CPCM_NOW": AFTER}
    bare = tmp_env / "remote.git"
    assert mgr("remote", "add", "origin", str(bare), "--create", env=later).code == 0
    assert mgr("sync", env=later).code == 0
    other = tmp_env / "copy-2"
    subprocess.run(["git", "clone", "-q", str(bare), str(other)], check=True, capture_output=True)
    return other, Cli({**mgr.env, "CPCM_REPO": str(other)})


def test_sync__a_restriction_on_one_copy_ended_by_a_later_assignment_on_the_other_gives_the_case_to_that_worker(
        closed, repo, cli_as, tmp_env):
    """Copy A restricts the case at 09:00; copy B, not having seen it, reopens it at 11:00 and gives it
    to sup at 12:00. The assignment came after the restriction, so it ended it (the fold's one rule):
    after the sync the `recipients` file says so too, and sup reads the case and holds its deadlines; its
    strictly confidential entry, the managers' only on A, is read as the rule has it again."""
    case_id, mgr = closed
    written = _entry(cli_as("amina"), case_id, {"CPCM_NOW": AFTER})
    _, mgr2 = _two_copies(case_id, mgr, tmp_env)
    restricted = mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env={"CPCM_NOW": AFTER})
    assert restricted.code == 0, restricted.stderr
    assert mgr2("reopen", case_id, "--reason", "new information", env={"CPCM_NOW": LATER}).code == 0
    given = mgr2("assign", case_id, "--worker", "sup", env={"CPCM_NOW": LATEST})
    assert given.code == 0, given.stderr
    assert mgr2("sync", env={"CPCM_NOW": LATEST}).code == 0
    synced = mgr("sync", env={"CPCM_NOW": LATEST})
    assert synced.code == 0, synced.stderr
    recipients = (case_dir(repo, case_id) / "recipients").read_text()
    assert "# restricted" not in recipients and "sup" in recipients.split()
    sup = cli_as("sup")
    shown = sup("show", case_id, "--json", env={"CPCM_NOW": LATEST})
    assert shown.code == 0, shown.stderr
    assert shown.json()["worker"] == "sup"
    assert case_id in {case for _, case in items(sup, when=LATEST)}
    assert _entry_readers(repo, written) == ["amina", "sup", "mgr"]
    verified = mgr("verify", env={"CPCM_NOW": LATEST})
    assert verified.code == 0, verified.stdout + verified.stderr
    assert CANARY not in synced.stdout + synced.stderr + shown.stderr + verified.stdout + verified.stderr


def test_verify_assign__a_restriction_picked_by_a_sync_that_could_not_read_the_case_is_named_and_given_back(
        closed, repo, cli_as, tmp_env):
    """As above, but the sync that merges the two copies is amina's, who reads neither the restricted case nor
    sup's: the `# restricted` line is picked (A changed it), while the records say the assignment to sup ended it.
    `cpcm verify` names it (restriction-mismatch, the assignment to run), and the manager gives the case to sup
    again: not refused as already sup's, and the file then says what the records say."""
    case_id, mgr = closed
    _, mgr2 = _two_copies(case_id, mgr, tmp_env)
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env={"CPCM_NOW": AFTER}).code == 0
    assert mgr2("reopen", case_id, "--reason", "new information", env={"CPCM_NOW": LATER}).code == 0
    assert mgr2("assign", case_id, "--worker", "sup", env={"CPCM_NOW": LATEST}).code == 0
    assert mgr2("sync", env={"CPCM_NOW": LATEST}).code == 0
    synced = cli_as("amina")("sync", env={"CPCM_NOW": LATEST})
    assert synced.code == 0, synced.stderr
    assert "# restricted" in (case_dir(repo, case_id) / "recipients").read_text()  # the line, picked unread
    sup = cli_as("sup")
    assert sup("show", case_id, env={"CPCM_NOW": LATEST}).code == 5
    verified = mgr("verify", "--json", env={"CPCM_NOW": LATEST})
    assert verified.code == 1, verified.stdout + verified.stderr
    named = [p for p in verified.json() if p["code"] == "restriction-mismatch"]
    assert [p["case_id"] for p in named] == [case_id]
    assert f"cpcm assign {case_id} --worker sup" in named[0]["message"]
    given = mgr("assign", case_id, "--worker", "sup", env={"CPCM_NOW": LATEST})
    assert given.code == 0, given.stderr
    recipients = (case_dir(repo, case_id) / "recipients").read_text()
    assert "# restricted" not in recipients and "sup" in recipients.split()
    assert sup("show", case_id, env={"CPCM_NOW": LATEST}).code == 0
    again = mgr("verify", "--json", env={"CPCM_NOW": LATEST})
    assert again.code == 0, again.stdout + again.stderr
    assert CANARY not in synced.stdout + synced.stderr + verified.stdout + verified.stderr + given.stdout + given.stderr


def test_retention__a_restriction_the_recipients_file_lost_is_written_again(closed, repo):
    """The records say restricted, the recipients file does not (cpcm verify: restriction-mismatch): a
    manager's restriction writes it again instead of answering that it is restricted already."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    recipients = case_dir(repo, case_id) / "recipients"
    recipients.write_text("".join(line + "\n" for line in recipients.read_text().splitlines()
                                  if not line.startswith("# restricted")))
    git(repo, "-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-qam", "recipients by hand")
    told = mgr("verify", "--json", env=later)
    assert any(p["code"] == "restriction-mismatch" and f"runs cpcm retention {case_id} --restrict" in p["message"]
               for p in told.json()), told.stdout
    again = mgr("retention", case_id, "--restrict", "--reason", "written again", env=later)
    assert again.code == 0, again.stderr
    assert "# restricted" in recipients.read_text()


@pytest.mark.parametrize("tables", [True, False], ids=["due-view", "no-tables"])
def test_due__the_retention_item_says_the_period_ends_before_its_day_and_ended_from_it(closed, monkeypatch, tables):
    case_id, mgr = closed
    if not tables:
        from cpcm.service import tables as tables_mod

        monkeypatch.setattr(tables_mod, "_session", lambda ctx: None)

    def why(when: str, *args: str) -> str:
        result = mgr("due", "--json", *args, env={"CPCM_NOW": when})
        assert result.code == 0, result.stderr
        found = [i["why"] for i in result.json() if i["code"] == "retention-ended" and i["case_id"] == case_id]
        assert len(found) == 1, result.stdout
        return found[0]

    ahead = why(BEFORE, "--within", "90")  # listed ahead of its day: the period has not ended yet
    assert "its retention period (7 years) ends 2033-11-23" in ahead and "ended" not in ahead
    past = why(AFTER)  # the same case, its rows kept from the run before where the cache keeps them
    assert "its retention period (7 years) ended 2033-11-23" in past and " ends " not in past
    warned = mgr("check", "--json", env={"CPCM_NOW": AFTER})
    problems = warned.json()["problems"] if isinstance(warned.json(), dict) else warned.json()
    text = next(p["message"] for p in problems if p["code"] == "retention-ended")
    assert "ended 2033-11-23" in text and " ends " not in text


def _team_file(repo) -> bytes:
    return (repo / ".cpcm" / "team.yaml").read_bytes()


def test_team_remove__the_last_manager_of_restricted_cases_is_refused_naming_how_many_and_what_to_do(closed, repo, cli_as,
                                                                                                    tmp_env):
    case_id, mgr = closed
    sup = cli_as("sup")
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "period over", env=later).code == 0
    before, team_before = commit_count(repo), _team_file(repo)
    for who, args in ((sup, ("team", "remove", "mgr")), (mgr, ("team", "remove", "mgr"))):
        refused = who(*args, "--json", env=later)
        assert refused.code == 4, (args, refused.code, refused.stderr)
        body = refused.json()
        assert body["rule"] == "team-last-manager", body
        assert "last active manager" in body["message"] and "1 case restricted to the managers" in body["message"]
        assert case_id in body["message"] and "nobody could read them" in body["message"]  # this agency has no recovery key
        assert "cpcm team add WORKER --role manager" in body["hint"] and "Nothing was written" in body["hint"]
        assert CANARY not in refused.stdout + refused.stderr
    assert commit_count(repo) == before and _team_file(repo) == team_before
    assert mgr("show", case_id, env=later).code == 0  # the manager reads it still
    # another manager added by the supervisor, who cannot read the case: it is not theirs yet, so still refused
    key = tmp_env / "mgr2.txt"
    assert sup("team", "add", "mgr2", "--role", "manager", "--recipient", make_identity(key), "--signing-key",
               signing_line(key), env=later).code == 0
    refused = sup("team", "remove", "mgr", "--json", env=later)
    assert refused.code == 4 and refused.json()["rule"] == "team-last-manager", refused.stderr
    assert "read by no active manager but 'mgr'" in refused.json()["message"]
    assert "'mgr' runs cpcm team sync first" in refused.json()["hint"] and "mgr2" in refused.json()["hint"]
    # the manager gives it to the new one (team sync); then they may go, and the new manager reads it
    assert mgr("team", "sync", env=later).code == 0
    done = sup("team", "remove", "mgr", env=later)
    assert done.code == 0, done.stderr
    mgr2 = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": AFTER})
    assert mgr2("show", case_id).code == 0


def test_team_remove__a_manager_leaves_as_before_where_no_case_is_restricted(closed, repo, cli_as, tmp_env):
    case_id, mgr = closed
    sup = cli_as("sup")
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--keep-until", KEPT, "--reason", "court case", env=later).code == 0  # kept, not restricted
    done = sup("team", "remove", "mgr", env=later)
    assert done.code == 0, done.stderr
    assert "mgr" not in [w["id"] for w in sup("team", "list", "--json", env=later).json()]


def test_team_revoke__a_lost_managers_key_is_revoked_even_as_the_last_manager_and_the_cases_left_are_named(
        closed, repo, cli_as, tmp_env):
    """A lost or stolen key cannot give the restricted cases to anyone (team sync), and while it stays on the team
    every new record is encrypted to it: revoking it is never refused for them; it warns, naming the cases (IDs
    only) that no active manager reads now, and the cases written after it no longer list the lost key."""
    case_id, mgr = closed
    sup, amina = cli_as("sup"), cli_as("amina")
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "period over", env=later).code == 0
    done = sup("team", "revoke", "mgr", "--lost", env=later)
    assert done.code == 0, done.stderr
    assert f"read by no active manager but 'mgr': {case_id}" in done.stderr
    assert "should run 'cpcm team sync'" not in done.stderr  # nobody is left to run it for that case
    assert "nobody can read them (the agency has no recovery key)" in done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert "mgr" not in [w["id"] for w in sup("team", "list", "--json", env=later).json()]
    other = register(amina)
    assert "mgr" not in (case_dir(repo, other) / "recipients").read_text().split()


def test_team_revoke__json_names_the_restricted_cases_no_manager_reads_now(closed, cli_as):
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "period over", env=later).code == 0
    done = cli_as("sup")("team", "revoke", "mgr", "--lost", "--json", env=later)
    assert done.code == 0, done.stderr
    assert done.json()["restricted_left"] == [case_id] and case_id in done.json()["not_reencrypted"]


def test_left_to_no_manager__the_restricted_cases_the_leaving_manager_alone_reads():
    from cpcm.workflow.retention import left_to_no_manager

    readers = {"CP-AAAA-AAAA": ["mgr"], "CP-BBBB-BBBB": ["mgr", "mgr2"], "CP-CCCC-CCCC": ["mgr2"], "CP-DDDD-DDDD": []}
    assert left_to_no_manager(readers, ["mgr", "mgr2"], "mgr") == ["CP-AAAA-AAAA"]
    assert left_to_no_manager(readers, ["mgr"], "mgr") == ["CP-AAAA-AAAA", "CP-BBBB-BBBB"]  # mgr2 is no manager now
    assert left_to_no_manager(readers, ["mgr", "mgr2"], "mgr2") == ["CP-CCCC-CCCC"]
    assert left_to_no_manager({}, ["mgr"], "mgr") == []
