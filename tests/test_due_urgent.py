"""`cpcm due` lists the items cpcm calls URGENT (a follow-up that found the risk increased, a
readiness stop answer, the response to an immediate risk: `deadlines.is_urgent`) before every other item, whatever their state,
each under its own state's label; everything else keeps its order. Checked on every path that
lists due items: the due view (service/duelines.py), the view spliced right after a write, the
view with the changed cases computed over it, no views at all (service/worklist.py), one case's
list, plain lines and --json, each worker's list, --worker all and --overdue."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from conftest import register
from cpcm.service import dueview, duelines
from cpcm.workflow import deadlines
from cpcm.workflow.deadlines import URGENT_CODES, Deadline, urgency
from test_dueview_splice import ZONE, _due_overlaid
from test_dueview_splice_random import T0
from test_dueview_stream import ctx  # noqa: F401 - a fixture

OLD = "2026-01-10T09:00:00+03:00"  # a registration long ago: its assessments are months overdue
WRITE = "2026-11-23T09:00:00+03:00"  # the follow-up that found the risk increased
LATER = {"CPCM_NOW": "2026-11-23T10:00:00+03:00"}
RISK_INCREASED = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                  "--visited-by", "professional", "--risk-increased", "yes")
FORMS = [(), ("--json",), ("--worker", "all"), ("--worker", "all", "--json"), ("--overdue",), ("--overdue", "--json"),
         ("--within", "400")]
SUPERVISOR = [("--worker", "all"), ("--worker", "all", "--json"), ("--worker", "amina"), ("--worker", "amina", "--json"),
              ("--worker", "all", "--overdue")]  # (a supervisor's own list holds none of amina's)


def _old_cases(cli_as) -> list[str]:
    """Two cases registered long ago (their assessments overdue by months) and one of otieno's."""
    old = cli_as("amina", CPCM_NOW=OLD)
    cases = [register(old), register(old)]
    register(cli_as("otieno", CPCM_NOW=OLD))
    return cases


def _first(result) -> tuple[str, str]:
    """The first item's case and code (--json), or its case and title (plain lines), and its state."""
    assert result.code == 0, result.stderr
    if result.stdout.startswith("["):
        first = result.json()[0]
        return first["case_id"], first["code"], first["state"]
    cells = result.stdout.splitlines()[1].split("\t")
    return cells[1], cells[2], cells[0]


def _urgent_first(who, case_id: str, forms=FORMS, env=LATER) -> None:
    for args in forms:
        result = who("due", *args, env=env)
        found = _first(result)
        assert found[:2] in ((case_id, "risk-increased"), (case_id, "URGENT: the risk has increased: re-rate it and act")), args
        assert found[2] in ("overdue", "OVERDUE"), args  # under its own state's label
        if not args or args == ("--json",):  # and every overdue assessment, months late, after it
            assert len(result.stdout.splitlines()) > 3


def _same(who, without_views, forms=FORMS, env=LATER) -> None:
    for args in forms:
        kept, computed = who("due", *args, env=env), without_views(who, "due", *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args


def test_due__an_urgent_item_is_listed_before_months_overdue_assessments(cli, cli_as, without_views):
    cases = _old_cases(cli_as)
    sup = cli_as("sup")
    for who in (cli, sup):
        assert who("due", "--worker", "all").code == 0  # the views made before the write
    assert cli("followup", cases[1], *RISK_INCREASED, env={"CPCM_NOW": WRITE}).code == 0
    _urgent_first(cli, cases[1])  # right after the write: the view spliced
    _urgent_first(cli, cases[1])  # from the view as stored
    _urgent_first(sup, cases[1], SUPERVISOR)
    _urgent_first(lambda *a, **k: without_views(cli, *a, **k), cases[1])  # no views, no tables
    _same(cli, without_views)
    _same(sup, without_views, SUPERVISOR)
    # the rest keeps its order: the assessments overdue longest first
    lines = [line.split("\t") for line in cli("due", env=LATER).stdout.splitlines()[2:]]
    assert lines[0][1] in cases and lines[0][2] == "initial assessment"
    # one case's list (`cpcm show`) too
    shown = cli("show", cases[1], "--json", env=LATER).json()
    assert shown["due"][0]["code"] == "risk-increased"


def test_due__an_urgent_item_is_first_when_the_changed_case_is_computed_over_the_view(cli, cli_as, without_views, monkeypatch):
    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)  # a small view is taken as it is, as a large one is
    overlaid = _due_overlaid(monkeypatch)
    cases = _old_cases(cli_as)
    assert cli("due", "--worker", "all").code == 0
    assert cli("followup", cases[0], *RISK_INCREASED, env={"CPCM_NOW": WRITE}).code == 0
    overlaid.clear()
    _urgent_first(cli, cases[0])
    assert overlaid and all(overlaid)  # each listed over the view as it is, the case computed now
    _same(cli, without_views)


def test_due__the_urgent_item_of_a_view_comes_first_in_every_state(ctx):
    """From a view: the urgent items first (by state, then due time), the rest in the view's order,
    as `deadlines.urgency` sorts them; the plain lines and --json in the same order."""
    texts = {
        "ia": ["initial-assessment", "initial assessment", "amina", "initial_assessment", "assess", "IAG", "high", None, []],
        "ri": ["risk-increased", deadlines.titled("risk-increased", "the risk has increased"), "amina", "risk_response",
               "re-rate", "IAG", "high", None, []],
        "rs": ["readiness-stop", deadlines.titled("readiness-stop", "a stop answer"), "amina", "readiness_stop", "act",
               "IAG", "low", None, []],
    }
    day = 86_400
    builder = dueview._Builder(ctx, ZONE)
    for i, (text, due) in enumerate([("ia", T0 - 300 * day), ("rs", T0 + 3600), ("ia", T0 - 200 * day), ("ri", T0 - 60),
                                      ("ia", T0 + 2 * day), ("rs", T0 - day), ("ia", T0 + 30 * day)]):
        builder.add(f"CP-000{i}-AAAA", "amina", {}, [(None, None, 1, [(texts[text], due, None)])])
    small, data = builder.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    now = datetime.fromtimestamp(T0, ZONE)
    soon = timedelta(days=7)
    for whose, overdue_only in (("all", False), ("amina", False), ("all", True)):
        view = duelines.DueView(body, ZONE, now, soon, now + timedelta(days=400), whose, whose == "all", overdue_only, [],
                                lambda covers: False)
        items = list(view)
        codes = [item.code in URGENT_CODES for item in items]
        assert codes == sorted(codes, reverse=True) and any(codes) and not all(codes)  # the urgent ones a prefix
        assert [(i.case_id, i.code) for i in items] == [(i.case_id, i.code) for i in sorted(items, key=lambda i: urgency(i, now, soon))]
        states = [item.state(now, soon) for item in items if item.code in URGENT_CODES]
        assert states == (["overdue", "overdue"] if overdue_only else ["overdue", "overdue", "due_soon"])
        lines = list("".join(view.plain_text("head", ["OVERDUE", "missed", "soon", "later"], lambda h: f"{h:.0f}",
                                             lambda d: [d.case_id])).splitlines())[1:]
        assert [line.split("\t")[1] for line in lines] == [i.case_id for i in items]
        assert lines[len(states) - 1].split("\t")[0] == {"overdue": "OVERDUE", "due_soon": "soon"}[states[-1]]
        listed = json.loads(b"[" + b",".join(view.json_items()) + b"]")
        assert [(o["case_id"], o["code"], o["state"]) for o in listed] == [(i.case_id, i.code, i.state(now, soon)) for i in items]


def test_urgency__urgent_items_sort_before_every_other_whatever_their_state():
    now = datetime(2026, 11, 23, 9, tzinfo=ZONE)
    soon = timedelta(days=7)

    def item(code: str, hours: float, risk: str = "low") -> Deadline:
        return Deadline("CP-0000-0000", code, deadlines.titled(code, code), now + timedelta(hours=hours), None, "amina", "r", "why",
                        "IAG", risk)
    items = [item("initial-assessment", -5000), item("readiness-stop", 3), item("review", 24), item("risk-increased", -1),
             item("readiness-stop", -2, "high"), item("case-plan", -1)]
    ordered = sorted(items, key=lambda i: urgency(i, now, soon))
    assert [(i.code, i.due - now) for i in ordered] == [
        ("readiness-stop", timedelta(hours=-2)), ("risk-increased", timedelta(hours=-1)), ("readiness-stop", timedelta(hours=3)),
        ("initial-assessment", timedelta(hours=-5000)), ("case-plan", timedelta(hours=-1)), ("review", timedelta(hours=24))]
    assert [i.title.startswith("URGENT: ") for i in ordered] == [True, True, True, False, False, False]


IMMEDIATE = ["--set", "safe=no", "--set", "safety_concerns=hit at home", "--set", "basic_needs.food=no",
             "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no",
             "--outcome", "proceed"]


def test_due__an_immediate_risk_not_responded_to_is_urgent_before_months_overdue_assessments(cli, cli_as, without_views):
    """The inter-agency profile wants an immediate risk answered the same day (IAG §3 Step 2
    [L803-807]: before the child leaves your care): its response item says URGENT and comes first,
    on the cached path and without views; a high risk's (72 hours) is not urgent."""
    cases = _old_cases(cli_as)
    assert cli("due", "--worker", "all").code == 0  # the views made before the writes
    written = cli_as("amina", CPCM_NOW=WRITE)
    case_id, other = register(written), register(written)
    assessed = cli("assess", case_id, "--type", "initial", "--risk", "immediate", "--risk-reason", "hit at home", *IMMEDIATE,
                   env={"CPCM_NOW": WRITE})
    assert assessed.code == 0, assessed.stderr
    assert cli("assess", other, "--type", "initial", "--risk", "high", *IMMEDIATE, env={"CPCM_NOW": WRITE}).code == 0
    later = {"CPCM_NOW": "2026-11-25T10:00:00+03:00"}  # the same day has passed, the high risk's 72 hours have not
    for run in (cli, cli, lambda *a, **k: without_views(cli, *a, **k)):  # spliced, stored, no views
        listed = run("due", "--json", env=later).json()
        assert (listed[0]["case_id"], listed[0]["code"], listed[0]["state"]) == (case_id, "risk-response", "overdue")
        assert listed[0]["title"] == "URGENT: respond to immediate risk"
        assert [i["title"] for i in listed if i["case_id"] == other and i["code"] == "risk-response"] == ["respond to high risk"]
        assert any(i["case_id"] in cases for i in listed[1:3])  # then the months-overdue assessments, as before
        lines = run("due", env=later).stdout.splitlines()
        assert lines[1].split("\t")[1:3] == [case_id, "URGENT: respond to immediate risk"]
    _same(cli, without_views, env=later)


def test_due__a_child_registered_at_immediate_risk_is_assessed_the_same_day_as_register_says(cli, cli_as, repo, without_views):
    """`register` said "assess now" for a child at immediate risk while `due` listed the ordinary
    48-hour initial assessment. The initial assessment of a child at a risk the policy wants
    answered the same day (`risk_response.limit`: immediate) is due that same day and URGENT, on
    every path; a high risk keeps the 48 hours (target 24); and an agency that gives immediate risk
    a longer response time gets the 48 hours back: the numbers are the policy's."""
    import json as json_

    from conftest import registration

    cases = _old_cases(cli_as)
    assert cli("due", "--worker", "all").code == 0  # the views made before the writes
    written = cli_as("amina", CPCM_NOW=WRITE)
    made = written("register", "--from-file", "-", input=json_.dumps(registration(risk="immediate")))
    assert made.code == 0, made.stderr
    case_id = made.stdout.strip()
    assert "assess now (the initial assessment is due the same day)" in made.stderr and "48 hours" not in made.stderr
    high = register(written)  # risk high
    env = {"CPCM_NOW": "2026-11-23T11:00:00+03:00"}
    for run in (cli, cli, lambda *a, **k: without_views(cli, *a, **k)):  # spliced, stored, no views
        listed = run("due", "--json", env=env).json()
        first = listed[0]
        assert (first["case_id"], first["code"], first["title"]) == (case_id, "initial-assessment",
                                                                     "URGENT: initial assessment now (immediate risk)")
        assert first["due"] == "2026-11-24T00:00+03:00" and first["target"] is None and first["state"] == "due_soon"
        assert "on the same day as registration" in first["why"] and "L803-807" in first["source"]
        ordinary = [i for i in listed if i["case_id"] == high and i["code"] == "initial-assessment"]
        assert [(i["title"], i["due"], i["target"]) for i in ordinary] == [
            ("initial assessment", "2026-11-25T09:00+03:00", "2026-11-24T09:00+03:00")]
        assert any(i["case_id"] in cases for i in listed[1:3])  # then the months-overdue assessments
    shown = cli("show", case_id, "--json", env=env).json()["due"]
    assert [(i["code"], i["due"]) for i in shown][:1] == [("initial-assessment", "2026-11-24T00:00+03:00")]
    # the next day it is overdue, and still first
    late = cli("due", "--json", env={"CPCM_NOW": "2026-11-24T08:00:00+03:00"}).json()[0]
    assert (late["case_id"], late["state"]) == (case_id, "overdue")
    # an agency's own response time for immediate risk: the initial assessment's 48 hours again
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  risk_response:\n    limit:\n      immediate: 12h\n")
    again = [i for i in cli("due", "--json", env=env).json() if i["case_id"] == case_id and i["code"] == "initial-assessment"]
    assert [(i["title"], i["due"]) for i in again] == [("initial assessment", "2026-11-25T09:00+03:00")]


def test_due__a_supervisors_own_list_counts_the_teams_urgent_and_overdue_items_from_the_view(cli, cli_as, without_views,
                                                                                            monkeypatch):
    """A supervisor's own `due` says how many items are URGENT and how many overdue on the team's
    lists: counted from the due view's columns, the view read once for both lists, no item made for
    each (was: every item of every case's list made as a Deadline, and the view read and decrypted a
    second time: at 100,000 cases 2.0 s of CPU and 345 MB of a `due` that took 0.6 s). What it says is
    what it says without views."""
    from cpcm.service import views

    cases = _old_cases(cli_as)
    assert cli("followup", cases[1], *RISK_INCREASED, env={"CPCM_NOW": WRITE}).code == 0  # URGENT, overdue an hour later
    register(cli_as("amina", CPCM_NOW=WRITE), risk="immediate")  # URGENT: its response due today, not yet overdue
    sup = cli_as("sup")
    assert sup("due", "--worker", "all", env=LATER).code == 0  # the view made
    reads = []
    real_read = views.read_view
    monkeypatch.setattr(views, "read_view", lambda *a, **k: reads.append(a[0]) or real_read(*a, **k))

    def made_one_by_one(self):
        raise AssertionError("the team's items made one by one")
    with monkeypatch.context() as patch:
        patch.setattr(duelines.DueView, "__iter__", made_one_by_one)
        own = sup("due", env=LATER)
    assert own.code == 0, own.stderr
    assert "next: 1 URGENT item(s) on the team's lists, not yet overdue (1 case(s)): cpcm due --worker all\n" in own.stderr
    assert "next: 7 item(s) overdue on the team's lists (3 case(s)): cpcm due --worker all --overdue\n" in own.stderr
    assert len(reads) == 1, reads  # one view, read once for the two lists
    _same(sup, without_views, [()])
