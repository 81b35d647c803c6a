"""Reintegration readiness (DCS AFC Form 7A) as its own record: the scoring at the reference's
boundaries, the stop answers and the closure rule (pure); the form against the reference; and end
to end in the kenya profile: recorded on a reunified case it changes no stage, the 6-monthly review
still goes ahead, a stop answer is urgent on `due`, and closing with goals_met waits for a recent
passing record unless a supervisor overrides it with a reason."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import NOW, REVIEW, SCCO, Cli, commit_count, register, reunified  # noqa: F401 (REVIEW, SCCO: used by other modules)
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

from cpcm.domain.records import Record
from cpcm.store import codec, forms, policies
from cpcm.workflow import readiness
from cpcm.workflow.deadlines import deadlines
from cpcm.workflow.fold import fold

FORM = "readiness"
DEFINITION = codec.loads((forms.HERE / f"{FORM}.yaml").read_bytes())
SCORING = DEFINITION["scoring"]
KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")

# kenya-forms-facts §8.2, Form 7A: domain -> (items, pass mark); 12 benchmarks, 65 items
REFERENCE = {"education": (11, 11), "protection": (8, 8), "psychosocial": (16, 14),
             "health": (11, 10), "relationship": (12, 12), "economic": (7, 6)}
BENCHMARKS = {"education": [1, 2], "protection": [3], "psychosocial": [4, 5, 6], "health": [7, 8, 9],
              "relationship": [10, 11], "economic": [12]}
GATES = ("education", "protection", "relationship")
TRAVEL, VIOLENCE = "education.b1_travels_safely", "protection.b3_child_free_of_violence"


def items(domain: str) -> list[str]:
    raw = next(d for d in SCORING["domains"] if d["key"] == domain)
    return [item for bench in raw["benchmarks"] for item in bench["items"]]


def answers(no: dict[str, int] | None = None, only: tuple[str, ...] | None = None, answer: str = "yes",
            section: str = "benchmarks") -> dict:
    """A readiness record body: every item of every domain (or of `only`) answered `answer`,
    except the first `no[domain]` items of a domain, answered no. `section="readiness"` gives the
    old layout (inside a comprehensive assessment)."""
    no = no or {}
    benchmarks: dict = {}
    for domain in only or REFERENCE:
        benchmarks[domain] = {item: ("no" if index < no.get(domain, 0) else answer) for index, item in enumerate(items(domain))}
    if section == "readiness":
        return {"readiness": {"version": "afc_7a_v1", **benchmarks}}
    return {"version": "afc_7a_v1", "benchmarks": benchmarks}


def failing(*domains: str) -> dict[str, int]:
    """Enough no answers to put each domain one point below its pass mark (the first items:
    Education 1.1 is the travel stop, so a failing Education is also a stop)."""
    return {d: REFERENCE[d][0] - REFERENCE[d][1] + 1 for d in domains}


def with_answer(body: dict, item: str, value: str) -> dict:
    body = copy.deepcopy(body)
    domain, key = item.split(".")
    body["benchmarks"][domain][key] = value
    return body


# -- scoring (pure) ---------------------------------------------------------------------------
@pytest.mark.parametrize("domain", list(REFERENCE))
def test_score__a_domain_exactly_at_its_pass_mark_passes_one_below_fails(domain):
    maximum, pass_mark = REFERENCE[domain]
    at = readiness.score(SCORING, answers(no={domain: maximum - pass_mark})).domain(domain)
    assert (at.score, at.maximum, at.pass_mark, at.passed) == (pass_mark, maximum, pass_mark, True)
    below = readiness.score(SCORING, answers(no={domain: maximum - pass_mark + 1})).domain(domain)
    assert (below.score, below.passed) == (pass_mark - 1, False)


def test_score__na_scores_like_yes():
    result = readiness.score(SCORING, answers(answer="na"))
    assert all(d.score == d.maximum and d.passed for d in result.domains)
    assert result.ready_for_closure


def test_score__all_domains_pass__ready_for_closure():
    result = readiness.score(SCORING, answers())
    assert result.ready_for_closure and result.domains_passed == 6
    assert result.reasons == () and result.failed_required == ()
    assert sum(d.maximum for d in result.domains) == 65


def test_score__three_passing_domains_without_education__not_ready():
    result = readiness.score(SCORING, answers(no=failing("education", "health", "economic")))
    assert {d.key for d in result.domains if d.passed} == {"protection", "psychosocial", "relationship"}
    assert result.domains_passed == 3
    assert not result.ready_for_closure
    assert result.failed_required == ("education",)
    assert len(result.reasons) == 1 and "Education scores 10 of 11 and must reach 11" in result.reasons[0]


def test_score__only_the_three_required_domains_pass__ready():
    result = readiness.score(SCORING, answers(no=failing("psychosocial", "health", "economic")))
    assert result.domains_passed == 3 and result.ready_for_closure


@pytest.mark.parametrize("gate", GATES)
def test_score__each_required_domain_blocks_closure_on_its_own(gate):
    result = readiness.score(SCORING, answers(no=failing(gate)))
    assert result.domains_passed == 5 and not result.ready_for_closure and result.failed_required == (gate,)


def test_score__fewer_domains_than_the_minimum__not_ready_with_the_count_as_reason():
    scoring = copy.deepcopy(SCORING)
    scoring["closure"]["required_domains"] = ["education"]
    result = readiness.score(scoring, answers(no=failing("protection", "psychosocial", "health", "economic")))
    assert result.domains_passed == 2 and result.failed_required == ()
    assert not result.ready_for_closure and result.reasons == ("2 of 6 domains pass; at least 3 must",)


def test_score__nothing_answered__not_ready_and_says_so():
    result = readiness.score(SCORING, {"child_views": "..."})
    assert not result.answered and not result.ready_for_closure
    assert result.failed_required == GATES
    assert all(reason.endswith("not answered") for reason in result.reasons[:3])


def test_score__unanswered_items_score_nothing():
    body = answers(only=("psychosocial",))
    for item in items("psychosocial")[:2]:
        del body["benchmarks"]["psychosocial"][item]
    domain = readiness.score(SCORING, body).domain("psychosocial")
    assert (domain.score, domain.answered, domain.complete, domain.passed) == (14, 14, False, True)


def test_score__refuses_an_unknown_answer_and_another_version():
    body = answers()
    body["benchmarks"]["economic"][items("economic")[0]] = "maybe"
    with pytest.raises(ValueError, match="benchmarks.economic.b12_income_assets"):
        readiness.score(SCORING, body)
    other = answers()
    other["version"] = "afc_8a_v1"
    with pytest.raises(ValueError, match="version"):
        readiness.score(SCORING, other)


def test_score__reads_a_flat_body_too():
    flat = {f"benchmarks.{d}.{k}": v for d, section in answers()["benchmarks"].items() for k, v in section.items()}
    assert readiness.score(SCORING, flat).ready_for_closure


def test_check_scoring__the_shipped_scoring_is_sound_and_mistakes_are_named():
    assert readiness.check_scoring(SCORING) == []
    broken = copy.deepcopy(SCORING)
    broken["domains"][0]["pass_mark"] = 12
    broken["closure"]["required_domains"].append("housing")
    problems = readiness.check_scoring(broken)
    assert any("domains.education.pass_mark" in p for p in problems)
    assert any("'housing' is not a domain" in p for p in problems)
    with pytest.raises(ValueError, match="scoring"):
        readiness.score(broken, answers())


def test_score__answers_recorded_the_old_way_inside_an_assessment_score_the_same():
    old = answers(no=failing("health"), section="readiness")
    new = answers(no=failing("health"))
    assert readiness.score(SCORING, old, legacy=True) == readiness.score(SCORING, new)
    assert not readiness.score(SCORING, old).answered  # the new layout does not read the old one


# -- stop answers (pure) ----------------------------------------------------------------------
def test_stops__the_two_answers_the_form_marks_and_nothing_else():
    assert readiness.stops(SCORING, answers()) == ()
    assert readiness.stops(SCORING, answers(answer="na")) == ()
    everything_no = answers(answer="no")
    assert [s.item for s in readiness.stops(SCORING, everything_no)] == [TRAVEL, VIOLENCE]
    violence = readiness.stops(SCORING, with_answer(answers(), VIOLENCE, "no"))
    assert [s.item for s in violence] == [VIOLENCE]
    assert "reporting protocol" in violence[0].text(violence[0].action) and violence[0].text(violence[0].action, "sw")
    travel = readiness.stops(SCORING, with_answer(answers(), TRAVEL, "no"))
    assert [s.item for s in travel] == [TRAVEL] and "cannot be closed" in travel[0].text(travel[0].says)
    old = answers(section="readiness")
    old["readiness"]["protection"]["b3_child_free_of_violence"] = "no"
    assert [s.item for s in readiness.stops(SCORING, old, legacy=True)] == [VIOLENCE]


def test_check_scoring__a_stop_must_name_an_item_and_say_what_to_do():
    broken = copy.deepcopy(SCORING)
    broken["stops"][0]["item"] = "education.no_such_item"
    del broken["stops"][1]["action"]
    problems = readiness.check_scoring(broken)
    assert any(p.startswith("stops[1].item") for p in problems)
    assert any(p.startswith("stops[2].action") for p in problems)


# -- the closure rule under the policy (pure) -------------------------------------------------
AT = "2027-01-20T08:00:00+00:00"
DAY = datetime(2027, 1, 20, 11, 0, tzinfo=timezone(timedelta(hours=3)))


def latest(body: dict, at: str = AT) -> readiness.Latest:
    return readiness.Latest("R1", at, "readiness", readiness.score(SCORING, body), readiness.stops(SCORING, body))


def test_closure_problems__kenya_goals_met_needs_a_record_that_meets_the_rule():
    assert readiness.closure_problems(latest(answers()), "goals_met", KENYA, DAY) == []
    missing = readiness.closure_problems(None, "goals_met", KENYA, DAY)
    assert len(missing) == 1 and "no readiness record" in missing[0]
    failing_gate = readiness.closure_problems(latest(answers(no=failing("protection"))), "goals_met", KENYA, DAY)
    assert len(failing_gate) == 1 and "does not meet the closure rule" in failing_gate[0] and "Protection" in failing_gate[0]
    # the rule as the form gives it: the three gates pass, the others do not block
    assert readiness.closure_problems(latest(answers(no=failing("psychosocial", "health", "economic"))), "goals_met", KENYA, DAY) == []


def test_closure_problems__the_record_must_be_recent_at_its_boundary():
    """kenya closure_readiness.max_age 3mo: a record made exactly 3 months before is recent, one
    made a minute earlier is not."""
    assert KENYA.get("closure_readiness", "max_age") == "3mo"
    edge = datetime(2026, 10, 20, 8, 0, tzinfo=timezone.utc)
    assert readiness.closure_problems(latest(answers(), at=edge.isoformat()), "goals_met", KENYA, DAY) == []
    older = (edge - timedelta(minutes=1)).isoformat()
    stale = readiness.closure_problems(latest(answers(), at=older), "goals_met", KENYA, DAY)
    assert len(stale) == 1 and "older than 3 months" in stale[0]


def test_closure_problems__a_record_made_before_the_child_went_home_does_not_count():
    """Form 7A reviews the child with the caregiver after placement: a record made while the child
    was still in care is named, one made at or after the reunification counts."""
    home = "2027-01-10T08:00:00+00:00"
    assert readiness.closure_problems(latest(answers()), "goals_met", KENYA, DAY, reunified=home) == []
    assert readiness.closure_problems(latest(answers(), at=home), "goals_met", KENYA, DAY, reunified=home) == []
    early = latest(answers(), at="2027-01-09T08:00:00+00:00")
    before = readiness.closure_problems(early, "goals_met", KENYA, DAY, reunified=home)
    assert len(before) == 1 and "made before the child went home (2027-01-10)" in before[0] and "record it again" in before[0]
    assert readiness.closure_gaps(early, "goals_met", KENYA, DAY, reunified=home) == [
        {"code": readiness.RECORD_BEFORE_REUNIFICATION, "record_at": "2027-01-09", "reunified_at": "2027-01-10"}]
    assert readiness.closure_problems(early, "goals_met", KENYA, DAY) == []  # never reunified: the rule as before


def test_closure_gaps__each_day_kept_is_the_agency_s_not_utc_s():
    """The days a closure keeps (and its report prints) were cut from the stored times: a reopening
    at 01:00 in Nairobi, kept in UTC, was said to be the day before."""
    reopened = "2027-01-09T22:30:00+00:00"  # 01:30 on 10 January in Nairobi (DAY's zone)
    early = latest(answers(), at="2027-01-09T21:30:00+00:00")  # 00:30 on 10 January there, an hour before
    assert readiness.closure_gaps(early, "goals_met", KENYA, DAY, reopened=reopened) == [
        {"code": readiness.RECORD_BEFORE_REOPENING, "record_at": "2027-01-10", "reopened_at": "2027-01-10"}]


def test_closure_problems__other_reasons_and_the_inter_agency_profile_are_not_gated():
    assert readiness.closure_problems(None, "declined", KENYA, DAY) == []
    assert readiness.closure_problems(None, "goals_met", INTER, DAY) == []
    assert readiness.closure_problems(latest(answers(no=failing("education"))), "goals_met", INTER, DAY) == []


# -- the stop clock (pure: records, the policy and now) ---------------------------------------
_ids = iter(range(10**6))


def rec(kind: str, at: datetime, **body) -> Record:
    return Record(kind=kind, schema=1, id=f"01H{next(_ids):023d}", case="CP-TEST-0000", at=at.isoformat(),
                  recorded_at=at.isoformat(), by="amina", body=body)


def stop_items(records, now):
    return [d for d in deadlines(fold("CP-TEST-0000", records), KENYA, now) if d.code == "readiness-stop"]


def test_stop_clock__urgent_the_same_day_until_a_crisis_follow_up_or_a_clean_record():
    t0 = datetime(2027, 1, 20, 11, 0, tzinfo=timezone(timedelta(hours=3)))
    base = [rec("registration", t0 - timedelta(days=200), risk="medium", worker="amina", child={"name": "x"})]
    stopped = base + [rec("readiness", t0, occasion="review", stops=[VIOLENCE])]
    [item] = stop_items(stopped, t0 + timedelta(hours=1))
    assert item.title.startswith("URGENT") and item.owner == "amina" and item.rule == "readiness_stop"
    assert item.due == datetime(2027, 1, 21, 0, 0, tzinfo=t0.tzinfo)  # same_day: by the end of the day of the record
    assert "Form 7A" in item.source
    assert stop_items(base + [rec("readiness", t0, occasion="review")], t0) == []
    # a routine follow-up does not answer it; a crisis follow-up does
    routine = stopped + [rec("followup", t0 + timedelta(hours=2), purpose="monitoring")]
    assert len(stop_items(routine, t0 + timedelta(hours=3))) == 1
    crisis = stopped + [rec("followup", t0 + timedelta(hours=2), purpose="crisis")]
    assert stop_items(crisis, t0 + timedelta(hours=3)) == []
    clean = stopped + [rec("readiness", t0 + timedelta(days=30), occasion="followup")]
    assert stop_items(clean, t0 + timedelta(days=31)) == []
    again = crisis + [rec("readiness", t0 + timedelta(days=30), occasion="followup", stops=[TRAVEL])]
    assert len(stop_items(again, t0 + timedelta(days=30, hours=1))) == 1


# -- the form definition ----------------------------------------------------------------------
def test_form__loads_with_the_reference_domains_benchmarks_items_and_pass_marks():
    form = forms.load(FORM)
    assert form.kind == "readiness" and DEFINITION["form"] == FORM
    for domain, (count, pass_mark) in REFERENCE.items():
        keys = [f.key for f in form.fields if f.key.startswith(f"benchmarks.{domain}.")]
        assert len(keys) == count, domain
        assert keys == [f"benchmarks.{domain}.{item}" for item in items(domain)], domain
        raw = next(d for d in SCORING["domains"] if d["key"] == domain)
        assert raw["pass_mark"] == pass_mark
        assert [b["number"] for b in raw["benchmarks"]] == BENCHMARKS[domain]
        for key in keys:
            field = form.field(key)
            assert field.type == "choice" and field.choices == ("yes", "no", "na") and not field.required
            assert field.label.get("en") and field.label.get("sw")
    assert sum(1 for f in form.fields if f.key.startswith("benchmarks.")) == 65
    assert [d["key"] for d in SCORING["domains"]] == list(REFERENCE)
    assert SCORING["closure"] == {"min_domains_passed": 3, "required_domains": list(GATES)}
    assert SCORING["points"] == {"yes": 1, "na": 1, "no": 0}
    assert form.field("version").choices == (SCORING["version"],)
    assert [s["item"] for s in SCORING["stops"]] == [TRAVEL, VIOLENCE]


def test_profiles__the_readiness_rules_with_their_sources():
    assert KENYA.get("closure_readiness", "required") is True and INTER.get("closure_readiness", "required") is False
    assert "Form 7A" in KENYA.source("closure_readiness") and "cpcm's choice" in KENYA.source("closure_readiness")
    assert "3.6" in KENYA.source("readiness_stop")
    assert KENYA.get("forms", "comprehensive") == "assessment-comprehensive"  # readiness is no longer inside it


# -- end to end -------------------------------------------------------------------------------
GOALS_MET = ["--check", "child_safe", "--check", "wellbeing_supported", "--check", "no_further_concerns",
             "--check", "monitoring_followups_done", "--check", "child_and_family_took_part"]
# the kenya profile closes goals_met on Form 9A: its checklist, the feedback, and the SCCO's sign-off
# (recorded on the case by conftest.reunified)
KENYA_GOALS_MET = ["--check", "final_visit_scheduled", "--check", "closure_recommended_and_acc_approved",
                   "--check", "referrals_completed_and_plans_made", "--check", "future_support_explained",
                   "--set", "feedback.child_given=no", "--set", "feedback.caregiver_given=no"]


def record(cli: Cli, case_id: str, body: dict, *extra: str):
    doc = {"occasion": "review", **body}
    return cli("readiness", case_id, "--from-file", "-", "--json", *extra, input=json.dumps(doc))


def due_codes(cli: Cli, case_id: str) -> dict:
    return {i["code"]: i for i in cli("show", case_id, "--json").json()["due"]}


def test_readiness__on_a_reunified_case_it_keeps_the_stage_and_the_six_monthly_review_goes_ahead(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    before = amina("show", case_id, "--json").json()
    assert before["stage"] == "implementation"
    review_due = due_codes(amina, case_id)["review"]
    assert review_due["rule"] == "review_after_reunification"
    commits = commit_count(kenya.root)
    done = record(amina, case_id, answers(no=failing("health")))
    assert done.code == 0, done.stderr
    assert commit_count(kenya.root) == commits + 1
    out = done.json()
    assert out["kind"] == "readiness" and out["readiness"]["ready_for_closure"] and out["readiness"]["domains_passed"] == 5
    after = amina("show", case_id, "--json").json()
    assert after["stage"] == "implementation"
    codes = due_codes(amina, case_id)
    assert "case-plan" not in codes and "comprehensive-assessment" not in codes
    assert codes["review"]["due"] == review_due["due"]  # no clock restarted
    assert after["readiness"]["record_id"] == out["record_id"] and after["readiness"]["ready_for_closure"]
    plain = amina("show", case_id)
    assert "readiness (latest)" in plain.stdout and "health 9/11 (pass 10)" in plain.stdout
    reviewed = amina("review", case_id, "--from-file", "-", "--json", input=json.dumps(REVIEW))
    assert reviewed.code == 0, reviewed.stderr
    assert reviewed.json()["readiness"]["record_id"] == out["record_id"]
    assert any(step.startswith("latest readiness (Form 7A)") for step in reviewed.json()["next_steps"])


def test_readiness__prints_each_domain_against_its_pass_mark(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    done = amina("readiness", case_id, "--from-file", "-", input=json.dumps({"occasion": "followup", **answers(no=failing("relationship"))}))
    assert done.code == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert rows[0] == ["domain", "score", "pass mark", "result", "required", "answered"]
    assert ["Child-caregiver relationship and attachment", "11/12", "12", "below", "yes", "12/12"] in rows
    assert ["Psychosocial well-being and community belonging", "16/16", "14", "pass", "", "16/16"] in rows
    assert "not ready for closure: Child-caregiver relationship and attachment scores 11 of 12 and must reach 12" in done.stderr


def test_readiness__a_partly_answered_domain_is_refused_and_nothing_is_written(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    commits = commit_count(kenya.root)
    body = answers(only=("education", "protection"))
    missing = items("protection")[-1]
    del body["benchmarks"]["protection"][missing]
    refused = record(amina, case_id, body)
    assert refused.code == 4
    assert [f["field"] for f in refused.json()["fields"]] == [f"benchmarks.protection.{missing}"]
    empty = record(amina, case_id, {})
    assert empty.code == 4 and [f["field"] for f in empty.json()["fields"]] == ["benchmarks"]
    assert commit_count(kenya.root) == commits


def test_readiness__a_stop_answer_says_what_to_do_and_is_urgent_on_due_until_a_crisis_follow_up(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    done = amina("readiness", case_id, "--from-file", "-", input=json.dumps({"occasion": "followup", **with_answer(answers(), VIOLENCE, "no")}))
    assert done.code == 0, done.stderr
    assert "the child is not free of violence" in done.stderr and "start the child-protection reporting protocol" in done.stderr
    assert f"cpcm followup {case_id} --purpose crisis" in done.stderr
    urgent = next(i for i in amina("due", "--json").json() if i["case_id"] == case_id and i["code"] == "readiness-stop")
    assert urgent["title"].startswith("URGENT") and urgent["due"].startswith("2026-11-24T00:00")
    # the supervisor's own list is told of it the same day, before it is overdue
    told = "next: 1 URGENT item(s) on the team's lists, not yet overdue (1 case(s)): cpcm due --worker all"
    assert told in kenya("sup")("due").stderr
    assert amina("followup", case_id, "--method", "home_visit", "--purpose", "crisis", "--purpose-detail", "protocol started",
                 "--visited-by", "professional", "--risk-increased", "no").code == 0
    assert "readiness-stop" not in due_codes(amina, case_id)
    assert "URGENT item(s) on the team's lists" not in kenya("sup")("due").stderr


def test_close__goals_met_refused_on_a_failing_readiness_allowed_after_a_passing_one(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    commits = commit_count(kenya.root)
    none_yet = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert none_yet.code == 4 and "no readiness record" in none_yet.stderr and "cpcm readiness" in none_yet.stderr
    fail = {**answers(no=failing("protection"))}
    assert record(amina, case_id, fail).code == 0
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-readiness"
    assert "Protection and safety scores 7 of 8" in refused.json()["message"]
    assert commit_count(kenya.root) == commits + 1  # only the readiness record
    declined = amina("close", case_id, "--reason", "declined", "--check", "decision_respected", "--check", "no_grounds_to_override",
                     "--check", "child_safe_enough", "--explain-open", "x", "--json")
    assert declined.code == 0, declined.stderr  # the rule is for goals_met only
    assert sup("reject", case_id, "closure", "--note", "not yet").code == 0
    assert record(amina, case_id, answers()).code == 0
    allowed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert allowed.code == 0, allowed.stderr
    assert "reunified on" in allowed.stderr and "closing now ends those reviews early" in allowed.stderr
    report = sup("render", "closure-report", case_id)
    assert report.code == 0, report.stderr
    assert "Readiness for closure" in report.stdout and "6 of 6 domains pass" in report.stdout
    assert "23 November 2026" in report.stdout


def readiness_then_home(kenya, sign_off: bool = True) -> str:
    """A kenya case planned on 10 November, its readiness recorded on 12 November (all domains
    pass) while the child was still away, and the plan for reunification_done written and approved
    on 23 November (the child went home after the record), reviewed, visited and signed off as
    `conftest.build_reunified` does (`sign_off`: with the officer's sign-off of Form 9A). `kenya`:
    `kenya(worker, now=...)`, the repository's workers as `cpcm` runs them."""
    from test_assess_plan import plan_doc
    from test_placements import BID

    early, early_sup = kenya("amina", now="2026-11-10T09:00:00+03:00"), kenya("sup", now="2026-11-10T09:00:00+03:00")
    case_id = register(early)
    assert early("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert early("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert early("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert early_sup("approve", case_id, "plan").code == 0
    made = record(kenya("amina", now="2026-11-12T10:00:00+03:00"), case_id, answers())
    assert made.code == 0, made.stderr
    amina, sup = kenya("amina"), kenya("sup")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc("reunification_done"))).code == 0
    assert sup("approve", case_id, "plan").code == 0
    assert amina("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)).code == 0
    assert amina("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                 "--visited-by", "professional", "--risk-increased", "no").code == 0
    if sign_off:
        assert sup("sign-off", case_id, *SCCO).code == 0
    return case_id


def test_close__a_readiness_record_from_before_the_reunification_is_refused_and_show_says_why(kenya):
    """The path of reintegration counts only a readiness record made once the child is home; the
    closure gate, `show` and the closure report say the same of one made before."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = readiness_then_home(kenya)
    shown = amina("show", case_id, "--json").json()
    home = shown["reintegration"]["reunified"]
    assert home.startswith("2026-11-23")
    assert shown["readiness"]["ready_for_closure"] and shown["readiness"]["reunified_at"] == home
    assert [s for s in shown["reintegration"]["steps"] if s["step"] == "readiness"][0]["done"] is False
    plain = amina("show", case_id).stdout
    assert "made before the child went home (2026-11-23), so it does not count for closure" in plain
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-readiness"
    assert "the latest readiness record (2026-11-12) was made before the child went home (2026-11-23)" in refused.json()["message"]
    overridden = sup("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none",
                     "--override-readiness", "the family moved; the review is booked", "--json")
    assert overridden.code == 0, overridden.stderr
    kept = sup("show", case_id, overridden.json()["record_id"], "--json").json()["fields"]
    assert kept["readiness_problems"] == [{"code": "readiness_record_before_reunification", "record_at": "2026-11-12",
                                           "reunified_at": "2026-11-23"}]
    report = sup("render", "closure-report", case_id)
    assert report.code == 0 and "was made before the child went home (23 November 2026)" in report.stdout


def test_close__a_readiness_record_made_once_home_lets_the_closure_go_ahead(kenya):
    amina = kenya("amina")
    case_id = readiness_then_home(kenya)
    assert record(amina, case_id, answers()).code == 0  # made now, once the child is home
    assert "reunified_at" not in amina("show", case_id, "--json").json()["readiness"]
    allowed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert allowed.code == 0, allowed.stderr


def test_inter_agency__show_says_nothing_of_a_record_before_the_reunification(cli_as):
    """Where closure does not wait for a readiness record (the inter-agency profile), `show` does
    not say that one made before the child went home does not count for closure."""
    def make(worker: str, now: str | None = None):
        return cli_as(worker, **({"CPCM_NOW": now} if now else {}))

    case_id = readiness_then_home(make, sign_off=False)
    shown = make("amina")("show", case_id, "--json").json()
    assert shown["readiness"] and "reunified_at" not in shown["readiness"]
    assert "went home" not in make("amina")("show", case_id).stdout


def test_close__a_stale_readiness_record_is_refused(kenya, team):
    amina = kenya("amina")
    case_id = reunified(kenya)
    assert record(amina, case_id, answers()).code == 0
    later = kenya("amina", now="2027-03-01T09:00:00+03:00")
    assert later("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                 "--risk-increased", "no").code == 0
    stale = later("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert stale.code == 4 and "older than 3 months" in stale.stderr


def test_close__a_supervisor_overrides_with_a_reason_a_caseworker_cannot(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    assert record(amina, case_id, answers(no=failing("education"))).code == 0
    worker = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none",
                   "--override-readiness", "family moved away")
    assert worker.code == 4 and "only a supervisor or manager" in worker.stderr
    done = sup("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none",
               "--override-readiness", "the family moved to another county; the receiving officer reviews it")
    assert done.code == 0, done.stderr
    assert "closing without a readiness record that meets the closure rule" in done.stderr
    report = sup("render", "closure-report", case_id)
    assert "Closed without meeting the readiness rule" in report.stdout
    assert "the family moved to another county" in report.stdout
    assert "not ready for closure" in report.stdout


def test_close__an_override_of_a_stale_record_that_passes_does_not_say_the_rule_is_met(kenya):
    """A record whose scores pass, older than the rule's max_age, closed on a supervisor's reason: the
    report said 'The closure rule is met.' and then 'Closed without meeting the readiness rule.'"""
    sup = kenya("sup")
    case_id = reunified(kenya)
    assert record(kenya("amina"), case_id, answers()).code == 0
    later = kenya("sup", now="2027-03-01T09:00:00+03:00")
    assert later("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                 "--risk-increased", "no").code == 0
    done = later("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none",
                 "--override-readiness", "the review is booked with the officer")
    assert done.code == 0, done.stderr
    report = sup("render", "closure-report", case_id).stdout
    assert "The closure rule is met." not in report and "the record does not count for this closure" in report, report
    assert "Closed without meeting the readiness rule" in report and "older than" in report


def _closure_sections(text: str) -> list[str]:
    return [part for part in text.split("\n### ") if part.split("\n")[0].endswith((". Kufunga kesi", ". Closure"))]


def test_close__an_override_keeps_why_as_codes_and_a_kiswahili_case_file_says_it_in_kiswahili(kenya, team):
    """A supervisor's override kept why the readiness rule was not met as cpcm's English sentences
    ('the latest readiness record (...) does not meet the closure rule: Education scores 10 of 11
    ...'), printed as such in a Kiswahili case file. The closure keeps codes and numbers, each
    document words them in its language; the supervisor's reason stays as typed; a closure
    written with the sentences (before the codes) still prints them as they are."""
    from cpcm import service

    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    assert sup("config", "set", "language", "sw").code == 0
    assert record(amina, case_id, answers(no=failing("education"))).code == 0
    old_words = "the latest readiness record (2026-11-23) does not meet the closure rule: Education scores 10 of 11"
    # a closure request written before the codes (its author is amina, so sup may reject it)
    ctx = service.open_repo(kenya.root, team["amina"][0], now=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    old = {"reason": "goals_met", "checklist": ["final_visit_scheduled"], "explain_open": "none",
           "readiness_override": "family moved", "readiness": {"record_id": "01R", "at": "2026-11-23T09:00:00+03:00",
                                                               "reasons": ["Education scores 10 of 11 and must reach 11 "
                                                                           "(required for closure)"]},
           "readiness_problems": [old_words + " and must reach 11 (required for closure)"]}
    service.append(ctx, service.load_case(ctx, case_id), "close", "closure", old, None)
    assert sup("reject", case_id, "closure", "--note", "again").code == 0

    done = sup("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none",
               "--override-readiness", "familia ilihamia kaunti nyingine", "--json")
    assert done.code == 0, done.stderr
    assert "Education scores 10 of 11" in done.stderr  # the message stays in English words
    kept = sup("show", case_id, done.json()["record_id"], "--json").json()["fields"]
    assert kept["readiness_override"] == "familia ilihamia kaunti nyingine"
    assert kept["readiness_problems"] == [{"code": "readiness_record_not_ready", "record_at": kept["readiness"]["at"][:10],
                                           "reasons": kept["readiness"]["reasons"]}]
    assert kept["readiness"]["reasons"] == [{"code": "domain_below_pass_mark", "domain": "education", "score": 10,
                                             "maximum": 11, "pass_mark": 11, "answered": 11, "items": 11}]

    text = sup("render", "case-file", case_id).stdout
    swahili = _closure_sections(text)[-1]
    for english in ("scores", "must reach", "closure rule", "latest readiness record", "required for closure"):
        assert english not in swahili, english
    assert ("**kwa nini kanuni ya utayari haikutimizwa:** rekodi ya karibuni ya utayari (23 Novemba 2026) haikutimiza "
            "kanuni ya kufunga kesi: Elimu: alama 10 kati ya 11, inapaswa kufikia 11") in swahili
    assert "**sababu:** Elimu: alama 10 kati ya 11, inapaswa kufikia 11" in swahili
    assert "familia ilihamia kaunti nyingine" in swahili
    earlier = _closure_sections(text)[0]  # the sentences an older closure kept: as they are
    assert "**kwa nini kanuni ya utayari haikutimizwa:** " + old_words in earlier
    assert "**sababu:** Education scores 10 of 11 and must reach 11" in earlier
    html = sup("render", "case-file", case_id, "--format", "html")  # stdout: HTML is written to the terminal too
    assert html.code == 0, html.stderr
    assert "haikutimiza kanuni ya kufunga kesi: Elimu: alama 10 kati ya 11" in html.stdout, html.stdout[-3000:]
    assert html.stdout.count("must reach") == 2  # the older closure's two sentences, as they are
    english = _closure_sections(sup("render", "case-file", case_id, "--lang", "en").stdout)[-1]
    assert ("the latest readiness record (23 November 2026) did not meet the closure rule: Education scores 10 of 11 "
            "and must reach 11 (required for closure)") in english
    shown = sup("show", case_id, done.json()["record_id"]).stdout
    assert "readiness problems: " + old_words in shown  # cpcm show: in English words, not the codes
    assert "readiness.reasons: Education scores 10 of 11 and must reach 11 (required for closure)" in shown


def test_readiness_recorded_the_old_way_is_still_read(kenya, team):
    """A comprehensive assessment holding the Form 7A answers (how the kenya profile recorded
    them before readiness was its own record) still counts for show and for the closure rule."""
    from cpcm import service

    amina = kenya("amina")
    case_id = reunified(kenya)
    ctx = service.open_repo(kenya.root, team["amina"][0], now=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
    case = service.load_case(ctx, case_id)
    old = {"type": "comprehensive", **COMPREHENSIVE, **answers(section="readiness")}
    service.append(ctx, case, "assess", "assessment", old, None)
    shown = amina("show", case_id, "--json").json()
    assert shown["readiness"]["kind"] == "assessment" and shown["readiness"]["ready_for_closure"]
    assert shown["assessments"][-1]["readiness"]["ready_for_closure"]
    assert amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none").code == 0


def test_inter_agency__readiness_can_be_recorded_and_does_not_gate_closure(cli, cli_as):
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    assert cli("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
               "--risk-increased", "no").code == 0
    assert record(cli, case_id, answers(no=failing("education"))).code == 0
    assert cli("show", case_id, "--json").json()["stage"] == "implementation"
    closed = cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr


def test_kenya__the_comprehensive_assessment_no_longer_takes_the_benchmarks(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    doc = {**COMPREHENSIVE, **answers(only=("education",), section="readiness")}
    refused = amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", input=json.dumps(doc))
    assert refused.code == 4 and "is not a field of the assessment form" in refused.stdout


def test_form_blank__the_readiness_skeleton_parses_as_yaml_with_the_six_domains(kenya):
    blank = kenya("amina")("form", "blank", FORM)
    assert blank.code == 0, blank.stderr
    doc = YAML(typ="safe").load(blank.stdout)
    assert list(doc["benchmarks"]) == list(REFERENCE)
    assert {domain: len(doc["benchmarks"][domain]) for domain in REFERENCE} == {d: n for d, (n, _) in REFERENCE.items()}
    assert {"occasion", "version", "notes"} <= set(doc)
