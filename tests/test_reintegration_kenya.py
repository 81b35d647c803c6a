"""A full Kenyan reintegration, as a children's home (CCI) runs it with the kenya profile, in one
test: admission to the CCI under a court order, family tracing, family assessment, best interests,
preparation, the reunification placement, monitoring visits on the due list, two 6-monthly
reviews, readiness recorded twice (failing, then passing), closure refused then allowed, the
post-closure visit. The stage never goes back, whatever is recorded."""
from __future__ import annotations

import json

from conftest import register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_placements import BID, FAMILY, TRACING
from test_readiness import KENYA_GOALS_MET, REVIEW, answers, failing

from cpcm.workflow.transitions import STAGES

ORDER = ("registered", "initial_assessment", "comprehensive_assessment", "planned", "implementation", "closure_requested",
         "closed")


def test_kenya__a_full_reintegration_from_admission_to_the_post_closure_visit(kenya):
    stages: list[str] = []

    def as_(worker: str, day: str):
        return kenya(worker, now=f"{day}T10:00:00+03:00")

    def ok(result):
        assert result.code == 0, result.stderr
        return result

    def show(day: str) -> dict:
        data = ok(as_("amina", day)("show", case_id, "--json")).json()
        stages.append(data["stage"])
        return data

    def due(day: str, within: str = "7") -> dict:
        return {i["code"]: i for i in ok(as_("amina", day)("due", "--within", within, "--json")).json() if i["case_id"] == case_id}

    # admission: registered, assessed, a best-interests decision, placed in the CCI under a court order
    case_id = register(as_("amina", "2026-01-12"))
    ok(as_("amina", "2026-01-12")("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    admission_bid = dict(BID, decision="alternative_care_placement", care_away_needed="yes", chosen="institutional_care",
                         options=[{"kind": "kinship", "assessment": "not traced yet"},
                                  {"kind": "institutional_care", "assessment": "safe now"}])
    ok(as_("amina", "2026-01-12")("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(admission_bid)))
    admitted = ok(as_("amina", "2026-01-12")("placement", case_id, "--care-type", "institutional_care", "--institution",
                                               "Tumaini Children's Home", "--formal", "formal", "--court-order", "CC 7/2026",
                                               "--court-order-date", "2026-01-12", "--court-order-expires", "2026-07-12", "--json"))
    assert admitted.json()["setting"] == "residential" and not admitted.json()["reunification"]
    first = show("2026-01-13")
    assert first["placement"]["care_type"] == "institutional_care" and first["reintegration"]["next"]["step"] == "tracing"
    ok(as_("amina", "2026-01-18")("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    ok(as_("amina", "2026-01-18")("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())))
    ok(as_("sup", "2026-01-19")("approve", case_id, "plan"))
    assert due("2026-02-10", "40")["reintegration-step"]["title"] == "reintegration: family tracing"

    # the steps: tracing, family assessment, the best-interests decision on reintegration, preparation
    ok(as_("amina", "2026-01-25")("tracing", case_id, "--from-file", "-", input=json.dumps(TRACING)))
    ok(as_("amina", "2026-01-28")("family-assessment", case_id, "--from-file", "-", input=json.dumps(FAMILY)))
    assert show("2026-01-29")["reintegration"]["next"]["step"] == "best_interests"
    ok(as_("amina", "2026-02-02")("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)))
    ok(as_("amina", "2026-02-05")("preparation", case_id, "--with", "child", "--method", "visit_at_institution", "--done",
                                  "talked through going home", "--child-agrees", "yes"))
    ok(as_("amina", "2026-02-09")("preparation", case_id, "--with", "family", "--method", "home_visit", "--done",
                                  "day visit home with the grandmother", "--family-agrees", "yes"))
    path = show("2026-02-10")["reintegration"]
    assert path["next"]["step"] == "reunification"
    assert [s["step"] for s in path["steps"] if s["done"]] == ["admission", "tracing", "family_assessment", "best_interests",
                                                               "preparation"]

    # reunification: the kinship placement out of the CCI starts the visits and the 6-monthly reviews
    home = ok(as_("amina", "2026-02-12")("placement", case_id, "--from-file", "-", "--json", input=json.dumps(
        {"care_type": "kinship", "caregiver": {"name": "Grace Achieng", "relationship": "grandmother"},
         "address": "Nyakach, Kisumu", "cci_exit": "family_reintegration", "reason": "family traced and prepared"})))
    assert home.json()["reunification"] and home.json()["best_interests"]
    items = due("2026-03-08", "200")
    assert "court-order" not in items and "reintegration-step" not in items
    assert items["monitoring-visit"]["due"].startswith("2026-03-12") and items["review"]["rule"] == "review_after_reunification"
    visits = ["2026-03-12", "2026-04-12", "2026-05-11", "2026-08-10", "2026-11-09", "2027-02-08"]
    expected_next = ["2026-04-12", "2026-05-12", "2026-08-11", "2026-11-10", "2027-02-09", "2027-05-08"]
    for day, following in zip(visits, expected_next):
        ok(as_("amina", day)("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail",
                             "monitoring visit", "--visited-by", "professional", "--risk-increased", "no"))
        assert due(day, "200")["monitoring-visit"]["due"].startswith(following), day
        if day == "2026-05-11":  # six months after the plan came into force: the first review after reunification
            review_due = due(day, "90")["review"]
            assert review_due["due"].startswith("2026-07-19") and review_due["rule"] == "review_after_reunification"
            ok(as_("amina", "2026-07-15")("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)))
        if day == "2026-11-09":
            assert due(day, "90")["review"]["due"].startswith("2027-01-15")
            ok(as_("amina", "2027-01-10")("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)))
        show(day)
    reviewed = show("2027-02-08")
    assert [s for s in reviewed["reintegration"]["steps"] if s["step"] == "monitoring"][0]["count"] == 6
    assert len([h for h in reviewed["history"] if h["kind"] == "review"]) == 2

    # readiness: failing, then passing; closure refused, then allowed and approved
    failed = ok(as_("amina", "2027-02-08")("readiness", case_id, "--from-file", "-", "--json",
                                           input=json.dumps({"occasion": "followup", **answers(no=failing("relationship"))})))
    assert not failed.json()["readiness"]["ready_for_closure"]
    show("2027-02-08")
    # Form 9A item 5: the Sub-County Children's Officer's final approval, entered by the supervisor
    ok(as_("sup", "2027-02-08")("sign-off", case_id, "--for", "closure", "--party", "scco", "--name", "J. Mwangi", "--title",
                                "Sub-County Children's Officer", "--date", "2027-02-08"))
    refused = as_("amina", "2027-02-09")("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "plan done",
                                         "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-readiness"
    passed = ok(as_("amina", "2027-02-15")("readiness", case_id, "--from-file", "-", "--json",
                                           input=json.dumps({"occasion": "review", **answers()})))
    assert passed.json()["readiness"]["ready_for_closure"]
    show("2027-02-15")
    closing = ok(as_("amina", "2027-02-16")("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "plan done"))
    assert "closing now ends those reviews early" in closing.stderr
    show("2027-02-16")
    ok(as_("sup", "2027-02-17")("approve", case_id, "closure", "--note", "reintegration sustainable"))
    closed = show("2027-02-17")
    assert closed["status"] == "closed" and "monitoring-visit" not in {i["code"] for i in closed["due"]}
    assert {i["code"] for i in closed["due"]} == {"post-closure-visit"}
    ok(as_("amina", "2027-04-20")("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail",
                                  "post-closure visit", "--visited-by", "professional", "--risk-increased", "no",
                                  "--set", "child_feedback=happy at home", "--set", "caregiver_feedback=managing"))
    last = show("2027-04-21")
    assert last["due"] == [] and last["reintegration"]["next"] is None

    # the register: the child left the CCI for kinship care with the grandmother
    register_view = ok(as_("sup", "2027-04-21")("report", "placements", "--from", "2026-01-01", "--to", "2027-04-21",
                                                "--format", "json")).json()
    assert [(r["case_id"], r["left_on"], r["to"], r["cci_exit"]) for r in register_view["left"]] == [
        (case_id, "2026-02-12", "kinship", "family_reintegration")]
    assert register_view["in_care"] == []  # a closed case is no longer followed in care

    # the stage never went back
    ranks = [ORDER.index(s) for s in stages]
    assert ranks == sorted(ranks) and set(stages) <= set(STAGES)
    assert stages[-1] == "closed"


def test_kenya__a_review_missed_under_the_6_month_interval_stays_due_on_its_day_after_the_2_years(kenya):
    """A plan for reunification_done approved on 1 December 2026, a review on 10 December: the next
    review is due on 10 June 2027 (6 months), on `cpcm due`, `show` and `check` alike, before and
    after the 2 years end (1 December 2028), and stays overdue; the first review after them makes the
    next one due 3 months later."""
    from conftest import REVIEW

    def at(worker: str, now: str):
        return kenya(worker, now=now)

    def ok(result):
        assert result.code == 0, result.stderr
        return result

    case_id = register(kenya("amina"))
    amina = at("amina", "2026-11-24T10:00:00+03:00")
    ok(amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    ok(amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    ok(at("amina", "2026-11-30T10:00:00+03:00")("assess", case_id, "--type", "best-interests", "--from-file", "-",
                                               input=json.dumps(BID)))
    ok(at("amina", "2026-12-01T10:00:00+03:00")("plan", case_id, "--from-file", "-",
                                               input=json.dumps(plan_doc("reunification_done"))))
    ok(at("sup", "2026-12-01T11:00:00+03:00")("approve", case_id, "plan"))
    ok(at("amina", "2026-12-10T10:00:00+03:00")("review", case_id, "--from-file", "-", "--at", "2026-12-10",
                                               input=json.dumps(REVIEW)))

    def review(now: str) -> dict:
        cli = at("amina", now)
        listed = [i for i in ok(cli("due", "--within", "400", "--json")).json() if i["case_id"] == case_id and i["code"] == "review"]
        shown = [i for i in ok(cli("show", case_id, "--json")).json()["due"] if i["code"] == "review"]
        assert listed == shown and len(listed) == 1
        return listed[0]

    for now in ("2027-05-01T10:00:00+03:00", "2028-11-25T10:00:00+03:00", "2028-12-05T10:00:00+03:00", "2029-03-01T10:00:00+03:00"):
        item = review(now)
        assert (item["due"], item["rule"]) == ("2027-06-10T00:00+03:00", "review_after_reunification"), now
    assert review("2028-12-05T10:00:00+03:00")["state"] == "overdue"
    checked = at("amina", "2028-12-05T10:00:00+03:00")("check", case_id, "--json")
    assert any(p["code"] == "review-overdue" and "2027-06-10" in p["message"] for p in checked.json()), checked.stdout

    ok(at("amina", "2028-12-05T10:00:00+03:00")("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)))
    item = review("2028-12-06T10:00:00+03:00")
    assert (item["due"], item["rule"]) == ("2029-03-05T10:00+03:00", "review") and "every 3 months" in item["why"]
