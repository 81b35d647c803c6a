"""A restricted case whose `recipients` file (its `# restricted` line) says other than its records (the fold's
`Case.restriction`), both ways: `cpcm due` lists it for the managers (`restriction-mismatch`, with the command that
writes the file as the records have it), `cpcm check CASE` names it, `cpcm verify` too, all three from one rule
(`deadlines.restriction_mismatch`); a caseworker or supervisor is never told of it; once a manager runs the command,
it is gone. The due table and view keep it in the case's entry, made where the case's folder is read (a cold fill
reads the line with the readers: `fill._reader`)."""
from __future__ import annotations

import pytest

from conftest import CANARY, NOW, Cli, git, library_session, make_identity, register, signing_line
from cpcm.store.layout import case_dir

CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
AFTER = "2033-11-24T09:00:00+03:00"  # the day after the 7 years since the closure (NOW) end
LATER = "2033-11-25T09:00:00+03:00"
CODE = "restriction-mismatch"


@pytest.fixture
def closed(repo, cli_as, tmp_env):
    """(case id, the manager's Cli): a case of amina's closed at NOW (the closure approved by sup), its
    retention ended (AFTER), and a manager, mgr, in the team."""
    amina, sup = cli_as("amina"), cli_as("sup")
    key = tmp_env / "mgr.txt"
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(key), "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    case_id = register(amina, child=CHILD)
    assert amina("close", case_id, "--reason", "registered_in_error", "--check", "error_confirmed").code == 0
    assert sup("approve", case_id, "closure").code == 0
    return case_id, Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})


def _by_hand(repo, case_id: str, restricted: bool) -> None:
    """The case's `recipients` file with its `# restricted` line put in or taken out, committed: what a sync merged
    by a worker who could not read the case leaves (the line of one copy, the records of both)."""
    from cpcm.store.layout import RESTRICTED_LINE

    path = case_dir(repo, case_id) / "recipients"
    lines = [line for line in path.read_text().splitlines() if line != RESTRICTED_LINE]
    if restricted:
        lines.insert(1, RESTRICTED_LINE)
    path.write_text("".join(line + "\n" for line in lines))
    git(repo, "-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-qam", "recipients by hand")


def _mismatched(closed, repo, way: str) -> tuple[str, Cli, str]:
    """(case id, the manager's Cli, the command the item names): `file`: the file says restricted, the records say
    an assignment (to amina) ended it; `records`: the records say restricted, the file does not."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended", env=later).code == 0
    assert mgr("due", "--worker", "all", env=later).code == 0  # the due table and view made before the change
    if way == "file":
        assert mgr("reopen", case_id, "--reason", "new information", env=later).code == 0
        given = mgr("assign", case_id, "--worker", "amina", env=later)
        assert given.code == 0, given.stderr
        _by_hand(repo, case_id, True)
        return case_id, mgr, f"cpcm assign {case_id} --worker amina"
    _by_hand(repo, case_id, False)
    return case_id, mgr, f"cpcm retention {case_id} --restrict --reason"


def _due(cli: Cli, *args: str) -> list[dict]:
    result = cli("due", "--json", *args, env={"CPCM_NOW": LATER})
    assert result.code == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    return [item for item in result.json() if item["code"] == CODE]


def _checked(cli: Cli, *args: str) -> list[dict]:
    result = cli("check", *args, "--json", env={"CPCM_NOW": LATER})
    assert CANARY not in result.stdout + result.stderr
    found = result.json()
    problems = found["problems"] if isinstance(found, dict) else found
    return [p for p in problems if p["code"] == CODE]


@pytest.mark.parametrize("tables", [True, False], ids=["due-view", "no-tables"])
@pytest.mark.parametrize("way", ["file", "records"])
def test_due_check__a_restriction_the_file_and_records_disagree_on_is_named_to_the_managers_until_put_right(
        closed, repo, cli_as, monkeypatch, way, tables):
    case_id, mgr, command = _mismatched(closed, repo, way)
    if not tables:
        from cpcm.service import tables as tables_mod

        monkeypatch.setattr(tables_mod, "_session", lambda ctx: None)
    for args in ((), ("--worker", "all"), ("--overdue",)):
        items = _due(mgr, *args)
        assert [item["case_id"] for item in items] == [case_id], args
        assert items[0]["owner"] == "managers" and command in items[0]["why"]
    text = mgr("due", env={"CPCM_NOW": LATER})
    assert "the recipients file and the records disagree" in text.stdout and case_id in text.stdout
    assert CANARY not in text.stdout + text.stderr
    named = _checked(mgr, case_id)
    assert [p["case_id"] for p in named] == [case_id] and command in named[0]["message"]
    assert [p["case_id"] for p in _checked(mgr)] == [case_id]
    verified = mgr("verify", "--json", env={"CPCM_NOW": LATER})
    told = [p for p in verified.json() if p["code"] == CODE]
    assert [p["case_id"] for p in told] == [case_id] and told[0]["message"] == named[0]["message"]  # one rule, one text
    for other in ("amina", "sup"):  # not a manager: never told, whether they read the case or not
        worker = cli_as(other)
        assert _due(worker) == [] and _due(worker, "--worker", "all") == []
        assert _checked(worker) == []
        if worker("show", case_id, env={"CPCM_NOW": LATER}).code == 0:
            assert _checked(worker, case_id) == []
    # the manager runs what the item names: the file is written as the records have it, and the item is gone
    fixed = (mgr("assign", case_id, "--worker", "amina", env={"CPCM_NOW": LATER}) if way == "file"
             else mgr("retention", case_id, "--restrict", "--reason", "written again", env={"CPCM_NOW": LATER}))
    assert fixed.code == 0, fixed.stderr
    assert _due(mgr) == [] and _due(mgr, "--worker", "all") == []
    assert _checked(mgr, case_id) == [] and _checked(mgr) == []
    assert not [p for p in mgr("verify", "--json", env={"CPCM_NOW": LATER}).json() if p["code"] == CODE]


def test_fill__the_line_read_with_the_readers_goes_into_the_due_entry(closed, repo, cli_as, monkeypatch):
    """A cold fill's chunk reads each case's `recipients` file once (`CaseStore.recipients_lines`): whether the
    worker reads the case and its `# restricted` line, which the case's due entry compares with its records; a
    case read alone (`read_one`) gives the same entry."""
    from cpcm.service import fill, tables
    from cpcm.store import casestore
    from cpcm.store.layout import CASES

    case_id, mgr, command = _mismatched(closed, repo, "file")
    other = register(cli_as("amina"))
    ctx = library_session(Cli({**mgr.env, "CPCM_NOW": LATER}))
    trees = ctx.store.versions(CASES)
    reads = []
    real = casestore.CaseStore.recipients_lines
    monkeypatch.setattr(casestore.CaseStore, "recipients_lines",
                        lambda store, folder_id: reads.append(folder_id) or real(store, folder_id))
    read = tables.case_lines
    monkeypatch.setattr(tables, "case_lines", lambda *a: pytest.fail("the line read again"))
    chunk = fill.read_chunk(ctx, [case_id, other], fill.TABLES, None, ["due"], trees)
    alone = fill.read_one(ctx, case_id, fill.TABLES, kinds=["due"], tree=trees[case_id])
    monkeypatch.setattr(tables, "case_lines", read)
    assert reads == [case_id, other, case_id]
    assert chunk[0].rows == alone.rows
    text, texts = chunk[0].rows["due"]
    said = [tables.with_case(value, case_id) for value in texts.values() if value[0] == CODE]  # as `due` reads it back
    assert len(said) == 1 and command in said[0][4] and said[0][2] == "managers"
    assert not [value for value in chunk[1].rows["due"][1].values() if value[0] == CODE]
    assert tables.case_lines(ctx, case_id) == (True, ())
