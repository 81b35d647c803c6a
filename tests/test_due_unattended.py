"""A case nobody has: open, its worker no longer on the team (registered by them, or given to them,
on a copy that did not know a supervisor had removed them, and brought in by a bundle or a sync).
`cpcm check` reports it (`case-worker-removed`); `cpcm due` puts its deadlines on the list of every
supervisor and manager, whenever they fall, marked as nobody's and saying how to assign the case,
until it is assigned. A caseworker's list is as it was."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from conftest import NOW, register
from test_fill_rows_same import NOWS, POLICIES, shapes
from test_sync import Laptops


@pytest.fixture
def orphaned(repo, team, tmp_env):
    """The supervisor's copy after a bundle from otieno's laptop brought in a case he registered
    there offline, after the supervisor had removed him: (laptops, the case id)."""
    laptops = Laptops(repo, team, tmp_env)
    otieno = laptops.laptop("otieno")
    laptops.laptop("amina")
    sup = laptops.cli("sup")
    assert sup("team", "remove", "otieno").code == 0
    laptops.sync("sup")
    case_id = register(otieno)  # offline, before the removal reached his laptop
    bundle = tmp_env / "otieno.bundle"
    assert otieno("bundle", "create", str(bundle)).code == 0
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert "case-worker-removed" in [p["code"] for p in json.loads(sup("check", case_id, "--json").stdout)]
    return laptops, case_id


def _json(cli, *args):
    done = cli("due", "--json", *args)
    assert done.code == 0, done.stderr
    return done.json()


def test_due__a_supervisor_sees_the_deadlines_of_a_case_whose_worker_was_removed_until_it_is_assigned(orphaned):
    laptops, case_id = orphaned
    sup = laptops.cli("sup")
    for _ in range(2):  # the view made, then read
        text = sup("due")
        assert text.code == 0, text.stderr
        lines = [line for line in text.stdout.splitlines() if case_id in line]
        assert lines, text.stdout
        for line in lines:
            assert "otieno (no longer on the team: nobody has the case)" in line, line
            assert (f"assign it to another worker (cpcm assign {case_id} --worker OTHER), or every open case of otieno at "
                    f"once (cpcm assign --from-worker otieno --worker OTHER)") in line, line
        items = [i for i in _json(sup) if i["case_id"] == case_id]
        assert items and all(i["worker_removed"] is True and i["owner"] == "otieno" for i in items), items
    assert "initial-assessment" in [i["code"] for i in items]
    # the case is to be assigned now: its deadlines are listed whenever they fall
    assert [i["code"] for i in _json(sup, "--within", "0") if i["case_id"] == case_id] == [i["code"] for i in items]
    # every case's list has them once each, marked too; the removed worker's list (asked by a supervisor) too
    every = [i for i in _json(sup, "--worker", "all") if i["case_id"] == case_id]
    assert sorted(i["code"] for i in every) == sorted(i["code"] for i in items)
    assert all(i["worker_removed"] is True for i in every)
    assert max(Counter((i["case_id"], i["code"], i["due"]) for i in _json(sup, "--worker", "all")).values()) == 1
    assert all(i["worker_removed"] is True for i in _json(sup, "--worker", "otieno") if i["case_id"] == case_id)
    # and a list asked for a worker who left says so (an empty one too: nothing is silently theirs)
    asked = sup("due", "--worker", "otieno")
    assert asked.code == 0 and "--worker otieno is no longer an active member of the team" in asked.stderr, asked.stderr
    assert "no longer an active member" not in sup("due", "--worker", "amina").stderr
    # a caseworker's list is as it was: nothing of the case, nothing marked
    amina = laptops.cli("amina")
    laptops.sync("sup")
    laptops.sync("amina")
    assert all(i["case_id"] != case_id and "worker_removed" not in i for i in _json(amina))
    shown = sup("show", case_id, "--json").json()["due"]  # the case's own deadlines, marked alike
    assert shown and all(i["worker_removed"] is True for i in shown if i["owner"] == "otieno"), shown
    # assigned: off the supervisor's list, on the new worker's as any case of theirs
    assert sup("assign", case_id, "--worker", "amina").code == 0
    assert all("worker_removed" not in i for i in sup("show", case_id, "--json").json()["due"])
    assert [i for i in _json(sup) if i["case_id"] == case_id] == []
    assert case_id not in sup("due").stdout
    assert all("worker_removed" not in i for i in _json(sup, "--worker", "all"))
    laptops.sync("sup")
    laptops.sync("amina")
    mine = [i for i in _json(amina) if i["case_id"] == case_id]
    assert mine and all(i["owner"] == "amina" and "worker_removed" not in i for i in mine), mine


SUPERVISOR_LISTS = [("due",), ("due", "--json"), ("due", "--overdue", "--json"), ("due", "--within", "0"),
                    ("due", "--worker", "all", "--json"), ("due", "--worker", "otieno")]


def test_due__the_case_is_listed_alike_from_the_view_from_every_case_and_when_its_deadlines_are_not_kept(
        orphaned, monkeypatch, without_views):
    """The supervisor's lists from the due view are those computed from every folded case (no
    tables: `worklist.due`), and those with the case's deadlines computed at each `due` (an answer
    the due table cannot keep: `dueview._listed`)."""
    from cpcm.service import tables as tables_mod
    from test_views import same

    laptops, case_id = orphaned
    sup = laptops.cli("sup")
    assert case_id in sup("due").stdout
    same(sup, without_views, SUPERVISOR_LISTS)
    real = tables_mod._due_entry

    def entry(ctx, session, case, tree, line=None):
        if case.id == case_id:
            raise tables_mod._NotKept
        return real(ctx, session, case, tree, line)
    monkeypatch.setattr(tables_mod, "_due_entry", entry)
    from cpcm.service import views
    import shutil
    shutil.rmtree(laptops.repo / ".cpcm" / "cache" / "sup" / views.FOLDER, ignore_errors=True)
    shutil.rmtree(laptops.repo / ".cpcm" / "cache" / "sup" / "due", ignore_errors=True)
    same(sup, without_views, SUPERVISOR_LISTS)
    assert "no longer on the team: nobody has the case" in sup("due").stdout


def test_due__the_conference_after_an_admission_of_a_case_nobody_has_is_a_supervisors_too(orphaned):
    """`conferences.due_items` decides a case's conference-after-admission item as the case's others."""
    from conftest import library_session
    from cpcm.service import conferences
    from cpcm.workflow.deadlines import Deadline, soon_window

    laptops, case_id = orphaned
    far = datetime.fromisoformat(NOW) + timedelta(days=60)
    item = Deadline(case_id, "conference-after-admission", "take the case to a case conference (admitted to a CCI)", far,
                    None, "otieno", "conference_after_admission", "why", "source", "high")

    def listed(worker: str, whose: str, **kw) -> list:
        ctx = library_session(laptops.cli(worker))
        found = conferences.due_items(ctx, whose, ctx.now + timedelta(days=7), False, soon_window(ctx.policy, ctx.now),
                                      admission=lambda conferenced: [item], **kw)
        return [(i.code, i.owner, i.worker_removed) for i in found if i.case_id == case_id]
    expected = [("conference-after-admission", "otieno", True)]
    assert listed("sup", "sup") == expected and listed("sup", "all") == expected and listed("sup", "otieno") == expected
    laptops.sync("sup")
    laptops.sync("amina")
    assert listed("amina", "amina") == []


# -- the rule, told from a deadline ----------------------------------------------------------------------
def test_unattended_item__says_of_each_deadline_what_unattended_says_of_its_case():
    """`due` tells a case nobody has from its deadlines (it does not fold the case): for cases of every
    shape, each deadline of the case's worker answers as `unattended` answers for the case, and a case
    that is not open has no deadline but those of NOT_OPEN_CODES (and the managers' retention item)."""
    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import deadlines, rules
    from cpcm.workflow import fold as fold_module
    from cpcm.workflow.clocks import MANAGERS
    from cpcm.workflow.conferences import admission_conference_due

    elsewhere = Team((Worker("someone-else", "S", ("supervisor",), "age1s"),))
    seen = Counter()
    for case_id, records in shapes(120, 20261203):
        case = fold_module.fold(case_id, records)
        for policy in POLICIES.values():
            for now in (*NOWS, NOWS[1] + timedelta(days=400)):
                for item in deadlines.deadlines(case, policy, now) + admission_conference_due(case, policy, now, ()):
                    if case.status != "open":  # or a closed case's retention, the managers' (never a worker's)
                        assert item.code in deadlines.NOT_OPEN_CODES or (item.owner == MANAGERS and item.code == "retention-ended"), \
                            (case.status, item.code)
                    if item.owner != case.worker or not case.worker:
                        continue
                    for removed in (frozenset({case.worker}), rules.off_team(elsewhere)):  # removed, or never on it
                        assert rules.unattended_item(item, removed) == rules.unattended(case, removed, policy, now), \
                            (case.status, item.code)
                    member = Team((Worker(case.worker, "W", ("caseworker",), "age1w"),))
                    assert not rules.unattended_item(item, rules.off_team(member))
                    assert not rules.unattended_item(item, frozenset({"someone-else"}))
                    assert not rules.unattended_item(item, rules.off_team(Team()))  # no team entries: nobody is told off
                    seen[case.status, rules.unattended(case, removed, policy, now)] += 1
    # a closed case's only deadline is its post-closure visit: nobody's too while its worker is off the team
    assert seen["open", True] and seen["closed", True], seen


# -- a closed case's post-closure visit, and a worker the team never had ---------------------------------
@pytest.fixture
def closed_orphan(cli_as):
    """A case otieno closed (approved by sup), then otieno removed from the team: its post-closure
    visit is still to make, and `cpcm assign` refuses a closed case. (the supervisor's cli, the case id)"""
    otieno, sup = cli_as("otieno"), cli_as("sup")
    case_id = register(otieno)
    asked = otieno("close", case_id, "--reason", "declined", "--check", "all")
    assert asked.code == 0, asked.stderr
    assert sup("approve", case_id, "closure").code == 0
    removed = sup("team", "remove", "otieno")
    assert removed.code == 0, removed.stderr
    # said at once, not found later by `cpcm check`
    told = [line for line in removed.stderr.splitlines() if "still need their post-closure visit" in line]
    assert len(told) == 1 and told[0].startswith("warning: 1 closed case(s) of otieno") and told[0].endswith(case_id), told
    assert sup("assign", case_id, "--worker", "amina").code != 0  # a closed case is not assigned
    return sup, case_id


def test_team_remove__names_the_closed_cases_whose_post_closure_visit_nobody_has_now(cli_as):
    """--json carries them (`visits_left`); a worker with none gets an empty list, and no warning."""
    otieno, amina, sup = cli_as("otieno"), cli_as("amina"), cli_as("sup")
    case_id = register(otieno)
    assert otieno("close", case_id, "--reason", "declined", "--check", "all").code == 0
    assert sup("approve", case_id, "closure").code == 0
    removed = sup("team", "remove", "otieno", "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["visits_left"] == [case_id]
    none_left = sup("team", "remove", "amina")
    assert none_left.code == 0 and "post-closure visit" not in none_left.stderr, none_left.stderr


def test_team_revoke__a_lost_laptops_worker_removed_names_the_post_closure_visits_too(cli_as):
    otieno, sup = cli_as("otieno"), cli_as("sup")
    case_id = register(otieno)
    assert otieno("close", case_id, "--reason", "declined", "--check", "all").code == 0
    assert sup("approve", case_id, "closure").code == 0
    revoked = sup("team", "revoke", "otieno", "--lost")
    assert revoked.code == 0, revoked.stderr
    told = [line for line in revoked.stderr.splitlines() if "still need their post-closure visit" in line]
    assert len(told) == 1 and told[0].startswith("warning: 1 closed case(s) of otieno") and told[0].endswith(case_id), told


def test_due__a_closed_cases_post_closure_visit_whose_worker_was_removed_is_on_the_supervisors_list(
        closed_orphan, without_views):
    sup, case_id = closed_orphan
    visit = f"record the post-closure visit yourself (cpcm followup {case_id} --method home_visit --purpose post_closure"
    for _ in range(2):  # the view made, then read
        items = [i for i in _json(sup) if i["case_id"] == case_id]
        assert [(i["code"], i["owner"], i.get("worker_removed")) for i in items] == [("post-closure-visit", "otieno", True)]
        lines = [line for line in sup("due").stdout.splitlines() if case_id in line]
        assert len(lines) == 1 and "otieno (no longer on the team: nobody has the case)" in lines[0], lines
        assert visit in lines[0] and "cpcm assign" not in lines[0], lines
    same_lists = [("due",), ("due", "--json"), ("due", "--worker", "all", "--json"), ("due", "--worker", "otieno", "--json")]
    from test_views import same
    same(sup, without_views, same_lists)
    problems = [p for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "case-worker-removed"]
    assert len(problems) == 1 and visit in problems[0]["message"], problems
    assert sup("check").code == 1
    # what the next step says works: the supervisor records the visit, and it leaves every list
    done = sup("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail", "feedback",
               "--visited-by", "professional", "--risk-increased", "no")
    assert done.code == 0, done.stderr
    assert [i for i in _json(sup, "--worker", "all") if i["case_id"] == case_id] == []
    assert "case-worker-removed" not in [p["code"] for p in json.loads(sup("check", case_id, "--json").stdout)]


@pytest.fixture
def stranger(cli_as, monkeypatch):
    """A case of otieno's in a team that never had him (a worker id brought by a sync or an import):
    the team as read lists only sup and amina. (the supervisor's cli, the case id)"""
    from cpcm.domain.team import Team
    from cpcm.service import context

    case_id = register(cli_as("otieno"))
    real = context.load_team
    monkeypatch.setattr(context, "load_team", lambda root: Team(tuple(w for w in real(root).workers if w.id != "otieno")))
    return cli_as("sup"), case_id


def test_due_and_check__a_case_whose_worker_was_never_on_the_team_is_nobodys_too(stranger, cli_as, without_views):
    sup, case_id = stranger
    for _ in range(2):  # the view made, then read
        items = [i for i in _json(sup) if i["case_id"] == case_id]
        assert items and all(i["worker_removed"] is True and i["owner"] == "otieno" for i in items), items
        lines = [line for line in sup("due").stdout.splitlines() if case_id in line]
        assert lines and all("otieno (not on the team: nobody has the case)" in line
                             and f"cpcm assign {case_id} --worker OTHER" in line for line in lines), lines
        assert not any("--from-worker" in line for line in lines), lines  # it takes only a worker the team had
    from test_views import same
    same(sup, without_views, [("due",), ("due", "--json"), ("due", "--worker", "all", "--json")])
    problems = [p for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "case-worker-removed"]
    assert len(problems) == 1 and "its worker (otieno) is not on the team" in problems[0]["message"], problems
    assert all(i["case_id"] != case_id for i in _json(cli_as("amina")))  # a caseworker's list is as it was
    assigned = sup("assign", case_id, "--worker", "amina")
    assert assigned.code == 0, assigned.stderr
    assert all("worker_removed" not in i for i in _json(sup, "--worker", "all"))
    assert "case-worker-removed" not in [p["code"] for p in json.loads(sup("check", "--json").stdout)]
