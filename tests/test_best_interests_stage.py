"""A best-interests assessment is allowed while a closure is requested, as at every other open
stage: the placements and the other steps of reintegration (tracing, family assessment,
preparation) are, and a placement out of care needs a best-interests record first (ESARO
Principle 2). So a child in residential care whose closure waits for the supervisor can still go
home: `due` asks for the decision as the next step of reintegration, the worker records it, the
stage stays `closure_requested`, and the placement home that rests on it is accepted. Through the
command line; names in the records are synthetic."""
from __future__ import annotations

import json
from datetime import timedelta

from conftest import commit_count, register
from test_assess_plan import INITIAL
from test_followup_close import DECLINED
from test_placements import ADMISSION, BID, FAMILY, KINSHIP, TRACING, T0, placed
from cpcm.workflow import transitions


def _day(days: int) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def _ok(result):
    assert result.code == 0, result.stderr
    return result


def _items(cli, case_id: str, code: str) -> list[dict]:
    return [i for i in _ok(cli("due", "--within", "400", "--json")).json() if i["case_id"] == case_id and i["code"] == code]


def _next_steps(cli, case_id: str) -> list[str]:
    return [i["title"] for i in _items(cli, case_id, "reintegration-step")]


def test_cli__a_best_interests_assessment_while_a_closure_is_requested_is_accepted_and_the_way_home_goes_on(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    # brought by the police at night and placed before the initial assessment (a placement after it would answer
    # the risk the assessment rates, and the response item below would not be there)
    _ok(placed(sup, case_id, ADMISSION, "--override-reason", "brought by police at night"))
    _ok(kenya("amina", (T0 + timedelta(hours=1)).isoformat())("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    _ok(kenya("amina", _day(1))("tracing", case_id, "--from-file", "-", input=json.dumps(TRACING)))
    _ok(kenya("amina", _day(2))("family-assessment", case_id, "--from-file", "-", input=json.dumps(FAMILY)))
    _ok(kenya("amina", _day(3))("close", case_id, "--reason", "declined", *[x for c in DECLINED["checklist"] for x in ("--check", c)]))
    waiting = kenya("amina", _day(4))
    assert _ok(waiting("show", case_id, "--json")).json()["stage"] == "closure_requested"
    # the next step of reintegration, the best-interests decision, is asked for while the closure waits
    assert _next_steps(waiting, case_id) == ["reintegration: best-interests decision on the placement"]
    # the response to the risk names what waits for the closure's decision: not this assessment
    [response] = _items(waiting, case_id, "risk-response")
    assert "an initial or comprehensive assessment, a referral or a new plan wait for the closure's decision" in response["why"]
    commits = commit_count(kenya.root)
    decided = waiting("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(BID))
    assert decided.code == 0, decided.stderr
    assert commit_count(kenya.root) == commits + 1
    assert _ok(waiting("show", case_id, "--json")).json()["stage"] == "closure_requested"  # the stage stays
    assert _next_steps(kenya("amina", _day(5)), case_id) == ["reintegration: preparation of the child and family"]
    # the placement home rests on that decision, at the same stage
    home = placed(kenya("amina", _day(6)), case_id, KINSHIP)
    assert home.code == 0, home.stderr
    assert home.json()["best_interests"] == decided.json()["record_id"]
    assert _ok(kenya("amina", _day(6))("show", case_id, "--json")).json()["stage"] == "closure_requested"
    # and the supervisor still decides the closure
    assert _ok(kenya("sup", _day(7))("reject", case_id, "closure", "--note", "the child has just gone home: monitor first")).code == 0


def test_table__a_best_interests_assessment_is_allowed_at_every_open_stage_and_leaves_it_as_it_is():
    for stage in transitions.STAGES:
        after = transitions.next_stage(stage, "assessment.best_interests")
        assert after == (stage if transitions.status_of(stage) == "open" else None), stage


def test_cli__aftercare_is_an_option_a_best_interests_assessment_can_weigh_and_choose(cli_as):
    """Aftercare (the Kenya SOP glossary's alternative care types; a care type `cpcm placement`
    takes) is among the options a best-interests assessment weighs, for a young person leaving care."""
    amina = cli_as("amina")
    case_id = register(amina)
    bid = dict(BID, decision="change_of_placement", chosen="aftercare",
               options=[{"kind": "aftercare", "assessment": "leaving the home at 18, a room near the college"},
                        {"kind": "kinship", "assessment": "no relative able"}])
    done = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(bid))
    assert done.code == 0, done.stderr
    shown = amina("show", case_id, done.json()["record_id"], "--json").json()
    assert shown["fields"]["chosen"] == "aftercare"
    assert "aftercare" in amina("show", case_id, done.json()["record_id"]).stdout


def test_cli__the_six_areas_of_esaro_principle_2_are_recorded_read_back_and_the_familys_kept_from_the_childs_file(cli_as):
    """A best-interests assessment weighs six areas (ESARO Principle 2): the child's wishes and
    five more, each read back by `show` with its question; the family's situation is about the
    family, so the child's own file leaves it out."""
    amina = cli_as("amina")
    case_id = register(amina)
    areas = {"family_situation": "Qvfamily mother drinks", "stability": "a stable home with the aunt",
             "separation_effects": "misses her brother", "developmental_needs": "needs a hearing aid",
             "consequences": "school kept in both options"}
    done = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(dict(BID, **areas)))
    assert done.code == 0, done.stderr
    shown = amina("show", case_id, done.json()["record_id"])
    for value in areas.values():
        assert value in shown.stdout
    assert "stability and security of where the child lives now" in shown.stdout
    own = amina("render", "child-file", case_id)
    assert own.code == 0, own.stderr
    assert "Qvfamily" not in own.stdout and "needs a hearing aid" in own.stdout
