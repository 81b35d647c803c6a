"""A case marked for its readers (its `recipients` file's `# rekey: WORKER` line: a key change made by someone who
could not read it) keeps its entry in the due table and the due view: its `case-readers` item, due at once, is made
when `due` runs from the mark the entry keeps (`tables.rekey_mark`), so a warm `due` reads no case and decrypts no
record for it (issue 17: such a case was read again by every `due`, and from 300 of them every `due` made the table
again from the summaries). The item still reads as due now, not late, for its readers, until a reader's `team sync`."""
from __future__ import annotations

from conftest import Cli, library_session, register
from test_key_rotate_unread_folders import _add, _due, _marked, _rotate
from test_restriction_mismatch import AFTER, closed  # noqa: F401 - the fixture: a closed case, a manager
from cpcm.store.layout import case_dir

WEEK_LATER = "2033-12-01T09:00:00+03:00"


def _decrypts(monkeypatch) -> list[str]:
    """The record files decrypted from here on (their paths: ids and file names only)."""
    from cpcm.store.casestore import CaseStore

    found: list[str] = []
    real = CaseStore._decrypt

    def counted(self, rel, data, keys):
        found.append(rel)
        return real(self, rel, data, keys)
    monkeypatch.setattr(CaseStore, "_decrypt", counted)
    return found


def _marked_case(closed, repo, cli_as, tmp_env):  # noqa: F811 - the fixture's value
    """(case id, the second manager's Cli at WEEK_LATER, the supervisor's): the case restricted to the managers,
    its manager's key replaced by the supervisor, who cannot read it, so that its `recipients` file is marked."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    mgr = Cli({**mgr.env, **later})
    sup = Cli({**cli_as("sup").env, **later})
    mgr2, _key = _add(sup, tmp_env, "mgr2", "manager")
    assert mgr("retention", case_id, "--restrict", "--reason", "retention period ended").code == 0
    out, _new = _rotate(sup, tmp_env, "mgr")
    assert out["not_reencrypted"] == [case_id]
    assert _marked(case_dir(repo, case_id) / "recipients") == ["# rekey: mgr"]
    return case_id, Cli({**mgr2.env, "CPCM_NOW": WEEK_LATER}), sup


def test_due__a_marked_case_is_kept_and_a_warm_due_reads_and_decrypts_nothing(closed, repo, cli_as, tmp_env, reads,  # noqa: F811
                                                                                 monkeypatch):
    case_id, mgr2, sup = _marked_case(closed, repo, cli_as, tmp_env)
    title = f"case {case_id}: its readers to bring in line"
    for _run in range(2):  # the first fills the due table and the view
        assert title in [i["title"] for i in _due(mgr2, "--worker", "all")]
    reads.clear()
    decrypted = _decrypts(monkeypatch)
    for _run in range(2):
        item = next(i for i in _due(mgr2, "--worker", "all") if i["title"] == title)
        # due at once, a week after the key change: not late, neither by the case's age nor since the mark
        assert item["code"] == "case-readers" and item["state"] == "due_soon", item
        assert item["due"] == WEEK_LATER[:16] + WEEK_LATER[19:] and item["owner"] == "managers", item
        shown = mgr2("due")  # the manager's own list, as printed
        assert shown.code == 0, shown.stderr
        line = next(row for row in shown.stdout.splitlines() if title in row)
        assert "due soon" in line and "in 0 h" in line and "late" not in line and "OVERDUE" not in line, line
    assert reads == [] and decrypted == [], (reads, decrypted)

    # the due list made from the due table's rows (no view) makes the item from the entry too, reading no case
    from cpcm.service import worklist

    ctx = library_session(mgr2)
    listed = [i for i in worklist.due(ctx, worker="all") if i.title == title]
    assert [(i.code, i.state(ctx.now, worklist.deadlines_mod.soon_window(ctx.policy, ctx.now))) for i in listed] == \
        [("case-readers", "due_soon")]
    assert reads == [] and decrypted == [], (reads, decrypted)

    # not the supervisor's, who does not read it
    assert title not in [i["title"] for i in _due(Cli({**sup.env, "CPCM_NOW": WEEK_LATER}), "--worker", "all")]

    # a write elsewhere: the view is spliced, the marked case's item kept from it, only the new case read
    amina = cli_as("amina", CPCM_NOW=WEEK_LATER)
    other = register(amina)
    reads.clear()
    assert title in [i["title"] for i in _due(mgr2, "--worker", "all")]
    assert case_id not in reads and not [rel for rel in decrypted if case_id in rel], (reads, decrypted)

    # a reader's team sync ends the mark, and the item with it
    synced = mgr2("team", "sync", "--json")
    assert synced.code == 0, synced.stderr
    assert _marked(case_dir(repo, case_id) / "recipients") == []
    for _run in range(2):
        assert title not in [i["title"] for i in _due(mgr2, "--worker", "all")]
    assert other != case_id


def test_due_entry__a_marked_case_is_kept_with_its_mark_and_not_its_time():
    """The due entry of a case whose `recipients` file has `# rekey:` lines: made (it was not kept: the item read
    `now`), its deadlines those of the unmarked case, its worker cell with the mark ([restricted, risk]); the item
    made from it is due at the `now` it is made for, for the managers of a restricted case, naming no worker."""
    from datetime import timedelta
    from types import SimpleNamespace

    from test_fill_rows_same import ALL_ZONES, NOWS, POLICIES, _session, shapes

    from cpcm.service import tables
    from cpcm.workflow import fold as fold_module

    zone = ALL_ZONES["nairobi"]
    case = next(c for c in (fold_module.fold(i, r) for i, r in shapes(30, 20261205)) if c.risk)
    session = _session(zone, "nairobi")
    original = tables._session
    tables._session = lambda ctx: session
    try:
        def made(now, line):
            ctx = SimpleNamespace(policy=POLICIES["kenya"], now=now, config=SimpleNamespace(policy_since=""))
            return tables.made_rows(ctx, ("due",), "ab" * 20, case, line=line)["due"]
        now = NOWS[0].astimezone(zone)
        for restricted in (False, True):
            plain, marked = made(now, (restricted, ())), made(now, (restricted, ("mgr",)))
            assert marked[0] is not None, "not kept"
            entry, unmarked = tables.json.loads(marked[0]), tables.json.loads(plain[0])
            assert entry[2:] == unmarked[2:]  # the case's deadlines as they were: no item of the mark among them
            worker, _keyworker, _risk, _since, mark = tables.worker_of(entry[1])
            assert worker == case.worker and mark == [restricted, case.risk]
            assert tables.worker_of(unmarked[1])[:4] == tables.worker_of(entry[1])[:4] and tables.worker_of(unmarked[1])[4] is None
            later = now + timedelta(days=9)
            item = tables.CaseDue(case.id, worker, [], [], rekey=mark).rekey_item(later)
            assert (item.code, item.due, item.owner, item.risk) == \
                ("case-readers", later, "managers" if restricted else "supervisors", case.risk)
            assert "mgr" not in item.title + item.why
    finally:
        tables._session = original
