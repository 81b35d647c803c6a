"""A closure or a transfer request the only supervisor asked for (on a caseworker's case, or their
own), which nobody in the team may decide: `cpcm due` lists it for the one who can act on it, the
one who asked (only they may withdraw it; as a supervisor they may add another, or allow
self-approval with a recorded reason), marked `nobody_may_decide` with those ways out. It is not on
the caseworker's list: she may neither decide it (a closure of her own case bars her), take it
back, nor ask for anything instead while it waits. The same from the due view, from every case,
and when a case's deadlines are computed at each `due`."""
from __future__ import annotations

import shutil

from conftest import register
from test_assess_plan import INITIAL
from test_transfer import REASON, consent
from test_views import same

DECLINED = ("--reason", "declined", "--check", "decision_respected", "--check", "no_grounds_to_override",
            "--check", "child_safe_enough")


def listed(who, case_id: str, code: str, *args) -> list:
    done = who("due", "--json", *args)
    assert done.code == 0, done.stderr
    return [(i["owner"], i.get("nobody_may_decide")) for i in done.json() if i["case_id"] == case_id and i["code"] == code]


def line(who, case_id: str, title: str, *args) -> list[str]:
    done = who("due", *args)
    assert done.code == 0, done.stderr
    return [row for row in done.stdout.splitlines() if case_id in row and title in row]


def stuck_on_the_askers_list(amina, sup, repo, without_views, monkeypatch, case_id: str, code: str, verb: str, title: str):
    lists = [("due",), ("due", "--json"), ("due", "--worker", "all", "--json"), ("due", "--overdue", "--json")]
    for _ in range(2):  # the view made, then read
        assert listed(sup, case_id, code) == [("supervisors", True)]
        assert listed(sup, case_id, code, "--worker", "all") == [("supervisors", True)]
        assert listed(amina, case_id, code) == []  # she can do nothing about it
        rows = line(sup, case_id, title)
        assert len(rows) == 1 and "supervisors (nobody in the team may decide it)" in rows[0], rows
        assert f"cpcm {verb} {case_id} --withdraw --reason" in rows[0] and "(sup)" in rows[0], rows
        assert "cpcm team add" in rows[0] and "self-approval with a recorded reason" in rows[0], rows
        assert "--from-current" not in rows[0], rows  # no next version to write: that is a plan's
    same(sup, without_views, lists)
    same(amina, without_views, lists)
    from cpcm.service import tables as tables_mod, views

    real = tables_mod._due_entry

    def entry(ctx, session, case, tree, line=None):  # the case's deadlines computed at each `due`
        if case.id == case_id:
            raise tables_mod._NotKept
        return real(ctx, session, case, tree, line)
    with monkeypatch.context() as patch:
        patch.setattr(tables_mod, "_due_entry", entry)
        for worker in ("sup", "amina"):
            shutil.rmtree(repo / ".cpcm" / "cache" / worker / views.FOLDER, ignore_errors=True)
            shutil.rmtree(repo / ".cpcm" / "cache" / worker / "due", ignore_errors=True)
        assert listed(sup, case_id, code) == [("supervisors", True)]
        assert listed(amina, case_id, code) == []
        same(sup, without_views, lists)


def test_due__a_closure_the_only_supervisor_asked_for_is_on_their_own_list_with_the_ways_out(
        cli_as, repo, without_views, monkeypatch):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    asked = sup("close", case_id, *DECLINED)
    assert asked.code == 0 and "nobody in the team may approve the closure" in asked.stderr, asked.stderr
    stuck_on_the_askers_list(amina, sup, repo, without_views, monkeypatch, case_id, "closure-approval", "close",
                             "approve or reject the closure")
    # their own case the same: on their list, once
    own = register(sup)
    assert sup("assess", own, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert sup("close", own, *DECLINED).code == 0
    assert listed(sup, own, "closure-approval") == [("supervisors", True)]
    # the way out works: withdrawn, it is on nobody's list
    assert sup("close", case_id, "--withdraw", "--reason", "asked too early").code == 0
    assert listed(sup, case_id, "closure-approval") == [] and listed(amina, case_id, "closure-approval") == []


def test_nobody_decides__holder_is_whoever_can_act_on_the_request():
    """A plan version's is the case's worker's (she may write the next version); a closure's or a
    transfer request's, the one who asked's, while they are on the team; else the case's worker's."""
    from datetime import datetime, timezone

    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import rules
    from cpcm.workflow.deadlines import Deadline

    now = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    sup, amina = Worker("sup", "S", ("supervisor",), "age1s"), Worker("amina", "A", ("caseworker",), "age1a")
    gone = Worker("gone", "G", ("supervisor",), "age1g", removed="2026-06-01")
    undecided = rules.NobodyDecides(Team((sup, amina, gone)))

    def item(code: str, by: str) -> Deadline:
        return Deadline("C", code, "t", now, None, "supervisors", "r", "w", "s", requested_by=by, barred=(by, "amina"))
    assert undecided.holder(item("plan-approval", "sup"), "amina") == "amina"
    assert undecided.holder(item("closure-approval", "sup"), "amina") == "sup"
    assert undecided.holder(item("transfer-approval", "sup"), "amina") == "sup"
    assert undecided.holder(item("closure-approval", "gone"), "amina") == "amina"  # left the team: nobody may withdraw it
    closure = item("closure-approval", "sup")
    assert undecided.sees("sup", closure, "amina") and undecided.sees("all", closure, "amina")
    assert not undecided.sees("amina", closure, "amina") and not undecided.sees("otieno", closure, "amina")


def test_due__a_transfer_the_only_supervisor_asked_for_is_on_their_own_list_with_the_ways_out(
        sending, cli_as, repo, without_views, monkeypatch, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    consent(amina, case_id)
    asked = sup("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_env / "b.age"), "--json")
    assert asked.code == 0 and asked.json()["kind"] == "transfer_request", asked.stderr
    stuck_on_the_askers_list(amina, sup, repo, without_views, monkeypatch, case_id, "transfer-approval", "transfer",
                             "approve or reject the transfer")
    assert sup("transfer", case_id, "--withdraw", "--reason", "the family stays").code == 0
    assert listed(sup, case_id, "transfer-approval") == [] and listed(amina, case_id, "transfer-approval") == []
