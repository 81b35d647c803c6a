"""`due` (and `check`, which reads the same items) never asks for a step the case's stage refuses.

Over many case histories built through the service API (tests/memory_repo.py: in memory, fixed
times), under both profiles: registrations, assessments (an initial one that concludes the case
closes, sometimes), plan versions approved and rejected, referrals and their answers, follow-ups
(a risk found increased, a concern), reviews, closures requested, withdrawn, rejected and
approved, reopenings, transfers requested and approved, a child turning 18, and, in kenya, a
child admitted to a CCI, traced, assessed, prepared and reunified. After each step and at times
after it, every item `due` lists for the whole team is done the way a worker does it, on a copy of
the repository: the step it asks for (`deadlines.asks`, read here from the item as a worker reads
it) must not be refused by the stage table (rule transition-not-allowed). A step refused for
another reason (a form left short, a consent missing) is not the stage's refusal. Names in the
records are synthetic."""
from __future__ import annotations

import copy
import random
from datetime import timedelta

import pytest

from cpcm import service
from cpcm.errors import CpcmError, Refused
from cpcm.workflow import deadlines, transitions
from memory_repo import T0, MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL_DATA, plan_doc
from test_followup_close import DECLINED, REVIEW, VISIT
from test_kenya_closure import FORM_10A
from test_placements import ADMISSION, BID, FAMILY, KINSHIP, PREPARATION, TRACING
from test_referral_letter import CLINIC, EXPLAINED
from test_transfer import RECV_ENTRY
from cpcm.workflow.referrals import CHECKS

SEEDS, TRIES = 40, 4  # histories per profile; times each kind of item is done at each stage
RERATED = dict(VISIT, risk="medium", risk_reason="re-rated at the visit")
TRANSFER_WHY = "the family moved to the receiving agency's area"


# -- the steps of a history ------------------------------------------------------------------------
def _plan(ctx, reason="initial"):
    """A plan whose actions are due after the day it is written (an earlier date is refused)."""
    doc = plan_doc(reason)
    for n, action in enumerate(doc["actions"], start=1):
        action["by"] = (ctx.now.date() + timedelta(days=20 * n)).isoformat()
    return doc


def _consent(ctx, case_id, purpose, agency):
    for giver in ("child", "caregiver"):
        service.consent(ctx, case_id, {"purpose": purpose, "agency": agency, "given_by": giver, "status": "given",
                                       "explained": EXPLAINED})


def _refer(ctx, case_id):
    _consent(ctx, case_id, "referral", "clinic")
    service.refer(ctx, case_id, {"service": "clinic", "need": "treatment for malnutrition", "checks": dict.fromkeys(CHECKS[:4], True)})


def _referral_answer(ctx, case_id, status):
    case = service.load_case(ctx, case_id)
    for ref in case.referrals:
        service.referral(ctx, case_id, ref["ref"], {"status": status, **({"start": ctx.now.date().isoformat(), "expected_duration": "2w"}
                                                                          if status == "accepted" else {})})


def _details(ctx):
    """The policy's transfer form (kenya: Form 10A), filled in."""
    return FORM_10A if ctx.policy.get("forms", "transfer") else None


def _transfer(ctx, case_id):
    _consent(ctx, case_id, "transfer", "recv")
    service.transfer(ctx, case_id, "recv", TRANSFER_WHY, "relocation", ("all",), details=_details(ctx))


def _carry_out(ctx, case_id, folder):
    """The approved transfer carried out: its bundle written (encrypted, to the receiving agency's key)."""
    service.transfer(ctx, case_id, "recv", TRANSFER_WHY, "relocation", ("all",),
                     out=folder / f"bundle-{len(list(folder.iterdir()))}.cpcm", details=_details(ctx))


def _best_interests(ctx, case_id):
    service.assess(ctx, case_id, "best_interests", BID)


# (name, who, what): each a step a worker may take at any time; many are refused where the case is
STEPS = (
    ("assess initial", "amina", lambda ctx, c, rng: service.assess(ctx, c, "initial", dict(INITIAL_DATA, risk=rng.choice(
        ("high", "high", "medium", "immediate")), risk_reason="rated at the assessment",
        outcome=rng.choice(("proceed",) * 4 + ("close_no_concerns",))))),
    ("assess comprehensive", "amina", lambda ctx, c, rng: service.assess(ctx, c, "comprehensive", COMPREHENSIVE)),
    ("plan", "amina", lambda ctx, c, rng: service.plan(ctx, c, _plan(ctx))),
    ("plan reunified", "amina", lambda ctx, c, rng: service.plan(ctx, c, _plan(ctx, "reunification_done"))),
    ("approve plan", "sup", lambda ctx, c, rng: service.approve(ctx, c, "plan")),
    ("reject plan", "sup", lambda ctx, c, rng: service.reject(ctx, c, "plan", note="one more goal")),
    ("refer", "amina", lambda ctx, c, rng: _refer(ctx, c)),
    ("referral answered", "amina", lambda ctx, c, rng: _referral_answer(ctx, c, rng.choice(("accepted", "declined")))),
    ("visit", "amina", lambda ctx, c, rng: service.followup(ctx, c, VISIT)),
    ("visit, risk increased", "amina", lambda ctx, c, rng: service.followup(ctx, c, dict(VISIT, risk_increased="yes"))),
    ("visit, concern", "amina", lambda ctx, c, rng: service.followup(ctx, c, dict(VISIT, concern="yes"))),
    # a review deciding to go on, or a step (review-decision), by the day: the histories' random draws as before
    ("review", "amina", lambda ctx, c, rng: service.review(ctx, c, dict(REVIEW, outcome=(
        "continue", "replan", "reassess", "close")[ctx.now.toordinal() % 4]))),
    ("close", "amina", lambda ctx, c, rng: service.close(ctx, c, DECLINED)),
    ("close, reached 18", "amina", lambda ctx, c, rng: service.close(ctx, c, {"reason": "reached_18", "checklist": ["all"]})),
    ("withdraw closure", "amina", lambda ctx, c, rng: service.close_withdraw(ctx, c, "asked for too early")),
    ("approve closure", "sup", lambda ctx, c, rng: service.approve(ctx, c, "closure")),
    ("reject closure", "sup", lambda ctx, c, rng: service.reject(ctx, c, "closure", note="not yet")),
    ("reopen", "amina", lambda ctx, c, rng: service.reopen(ctx, c, "a new report from the school")),
    ("request transfer", "amina", lambda ctx, c, rng: _transfer(ctx, c)),
    ("approve transfer", "sup", lambda ctx, c, rng: service.approve(ctx, c, "transfer")),
    ("withdraw transfer", "amina", lambda ctx, c, rng: service.transfer_withdraw(ctx, c, "the family stays")),
    ("continue at 18", "amina", lambda ctx, c, rng: service.continue_(ctx, c, "still in school, needs the service")),
)
KENYA_STEPS = (
    ("best interests", "amina", lambda ctx, c, rng: _best_interests(ctx, c)),
    ("admission", "sup", lambda ctx, c, rng: service.placement(ctx, c, ADMISSION, override_reason="brought at night")),
    ("tracing", "amina", lambda ctx, c, rng: service.tracing(ctx, c, TRACING)),
    ("family assessment", "amina", lambda ctx, c, rng: service.family_assessment(ctx, c, FAMILY)),
    ("preparation", "amina", lambda ctx, c, rng: service.preparation(ctx, c, PREPARATION)),
    ("reunification", "sup", lambda ctx, c, rng: service.placement(ctx, c, KINSHIP, override_reason="home to the family")),
)


# -- what an item asks for, done as a worker does it -------------------------------------------------
def _do(ctx, item, case):
    """The step `item` asks for, as its title and text tell a worker, on the case as it is."""
    c, code, title, why = item.case_id, item.code, item.title, item.why
    if code == "initial-assessment":
        return service.assess(ctx, c, "initial", dict(INITIAL_DATA, risk="high"))
    if code == "comprehensive-assessment":
        if title.startswith("close the case"):
            return service.close(ctx, c, {"reason": "no_longer_eligible", "checklist": ["all"]})
        if title.startswith("transfer the case"):
            return _transfer(ctx, c)
        return service.assess(ctx, c, "comprehensive", COMPREHENSIVE)
    if code in ("case-plan", "plan-revision"):  # a rejected revision: the next version
        return service.plan(ctx, c, _plan(ctx))
    if code in ("plan-approval", "closure-approval", "transfer-approval"):
        return service.approve(ctx, c, code.split("-")[0])
    if code == "approved-transfer":
        return service.transfer_withdraw(ctx, c, "no longer wanted")
    if code == "transfer-ack":  # no receipt to record here: the way out the item names when it never comes
        return service.reopen(ctx, c, "the receiving agency never confirmed it holds the case")
    if code == "risk-increased":
        if case.status == "closed":
            return service.reopen(ctx, c, "the risk has increased")
        if "cpcm assess" in why:
            return service.assess(ctx, c, "comprehensive", COMPREHENSIVE)
        return service.followup(ctx, c, RERATED)
    if code in ("risk-response", "concern", "monitoring-visit", "next-followup"):  # next-followup: a transfer form's date
        return service.followup(ctx, c, VISIT)
    if code == "readiness-stop":
        return service.followup(ctx, c, dict(VISIT, purpose="crisis"))
    if code == "plan-action":
        return service.followup(ctx, c, VISIT, done=[title.split()[2]])
    if code == "review":
        return service.review(ctx, c, REVIEW)
    if code == "review-decision":  # the step the review decided, as the item's title names it
        if title.startswith("write a new plan version"):
            return service.plan(ctx, c, plan_doc())
        if title.startswith("comprehensive assessment"):
            return service.assess(ctx, c, "comprehensive", COMPREHENSIVE)
        return service.close(ctx, c, DECLINED)
    if code in ("referral-feedback", "referral-follow-up", "referral-outcome"):
        ref = title.split("referral ", 1)[1].split()[0]
        return service.referral(ctx, c, ref, {"status": "closed" if code == "referral-follow-up" else
                                              "accepted" if code == "referral-feedback" else "delivered"})
    if code == "post-closure-visit":
        return service.followup(ctx, c, dict(VISIT, purpose="post_closure", purpose_detail="feedback", child_feedback="happy"))
    if code == "turning-18":
        return service.continue_(ctx, c, "still in school, needs the service")
    if code == "court-order":
        return service.placement(ctx, c, ADMISSION, override_reason="order renewed")
    if code == "placement-best-interests":
        return _best_interests(ctx, c)
    if code == "reintegration-step":
        step = title.split(": ", 1)[1]
        return {"family tracing": lambda: service.tracing(ctx, c, TRACING),
                "family assessment": lambda: service.family_assessment(ctx, c, FAMILY),
                "best-interests decision on the placement": lambda: _best_interests(ctx, c),
                "preparation of the child and family": lambda: service.preparation(ctx, c, PREPARATION),
                "reunification or family-based placement": lambda: service.placement(ctx, c, KINSHIP, override_reason="home"),
                }[step]()
    if code == "conference-after-admission":
        return None  # a conference's step (cpcm conference add-case): outside the stage table
    raise AssertionError(f"an item this test does not know how to do: {code} ({title}); say here what it asks for")


def _refused_by_stage(mem, item, case, now) -> str | None:
    """Whether doing `item` on a copy of the repository is refused by the stage table: its message."""
    scratch = copy.copy(mem)
    scratch.store = copy.deepcopy(mem.store)
    who = "sup" if item.owner == "supervisors" else item.owner
    try:
        _do(scratch.as_(who, now=now), item, case)
    except Refused as refused:
        if refused.rule == "transition-not-allowed":
            return refused.message
    except CpcmError:
        pass  # refused for another reason than the stage (a form, a consent, who may decide)
    return None


def _history(profile: str, seed: int, length: int, folder):
    """A random history of one case (and the team's other cases, as they are), yielding the
    repository and the time after each step."""
    rng = random.Random(seed)
    mem = MemoryRepo(profile)
    service.service_add(mem.as_("sup"), CLINIC)
    service.service_add(mem.as_("sup"), RECV_ENTRY)
    now = T0
    # a child turning 18 soon in some histories (the turning-18 item and the reached_18 closure)
    born = "2008-12-20" if rng.random() < 0.3 else "2015-04-01"
    case_id = mem.register(mem.as_("amina", now=now), child={"name": "Test Child", "sex": "female", "date_of_birth": born,
                                                             "disability": "no"})
    steps = STEPS + (KENYA_STEPS if profile == "kenya" else ()) + (
        ("carry out the transfer", "amina", lambda ctx, c, rng: _carry_out(ctx, c, folder)),)
    for _ in range(length):
        now += timedelta(hours=rng.choice((2, 20, 24 * 5, 24 * 30)))
        name, who, step = rng.choice(steps)
        try:
            step(mem.as_(who, now=now), case_id, rng)
        except CpcmError:
            pass  # refused (by the stage or another rule): nothing was written
        yield mem, case_id, now


def _kind(item) -> tuple:
    """What tells items apart for doing them: the code, and the title and text without the case's
    id, a referral's number or a risk level (a closed case's risk item asks for a reopening)."""
    return item.code, item.title.split(" (")[0].split(" A")[0].split(" R")[0], "cpcm assess" in item.why


@pytest.mark.parametrize("profile", ["inter-agency", "kenya"])
def test_due__never_asks_for_a_step_the_stage_refuses(profile, tmp_path):
    stages, refused, tried = set(), [], {}
    for seed in range(SEEDS):
        made = -1
        for mem, case_id, now in _history(profile, seed, 24, tmp_path):
            if len(mem.store.commits) == made:
                continue  # the step was refused: nothing changed
            made = len(mem.store.commits)
            for when in (now, now + timedelta(days=400)):
                ctx = mem.as_("sup", now=when)
                case = service.load_case(ctx, case_id)
                stages.add(case.stage)
                items = service.due(ctx, worker="all", case=case)  # everything on the case, however far ahead
                problems = {p.code.rsplit("-", 2)[0] if p.code.endswith("-target-missed") else p.code.rsplit("-", 1)[0]
                            for p in service.check(ctx, case_id) if p.code.endswith(("-overdue", "-target-missed"))}
                assert problems <= {item.code for item in items}  # `check` finds faults in the items `due` lists
                for item in items:
                    # what the item asks for is a step of the stage table the stage allows (`deadlines.asks`)
                    steps = deadlines.asks(item)
                    assert not steps or any(transitions.next_stage(case.stage, s) is not None for s in steps), (item.code, case.stage)
                    # and done as a worker does it, the stage does not refuse it (each kind of item a few times a stage)
                    key = (case.stage, _kind(item))
                    if tried.get(key, 0) >= TRIES:
                        continue
                    tried[key] = tried.get(key, 0) + 1
                    message = _refused_by_stage(mem, item, case, when)
                    if message is not None:
                        refused.append((profile, seed, case.stage, item.code, item.title, message))
    assert not refused, refused[:10]
    # the histories reach every stage a case can be at
    assert set(transitions.STAGES) <= stages, set(transitions.STAGES) - stages


# -- what cpcm chose while a closure is requested (docs/workflow.md#only-what-the-stage-allows) ---------------
def _codes(mem, case_id, worker="amina"):
    ctx = mem.as_(worker)
    return {item.code: item for item in service.due(ctx, worker="all", case=service.load_case(ctx, case_id))}


def test_closure_requested__assessments_plan_and_turning_18_wait_for_the_decision_and_come_back():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": "Test Child", "sex": "female", "date_of_birth": "2008-12-20", "disability": "no"})
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    before = _codes(mem, case_id)
    assert {"comprehensive-assessment", "turning-18", "risk-response"} <= set(before)
    service.close(amina, case_id, DECLINED)
    waiting = _codes(mem, case_id)
    # the steps the stage refuses are not asked for, nor turning 18 (the closure is proposed); the decision is
    assert not {"initial-assessment", "comprehensive-assessment", "case-plan", "turning-18"} & set(waiting)
    assert "closure-approval" in waiting
    # the response to the risk goes on, with the step there is
    response = waiting["risk-response"]
    assert (response.title, response.due) == (before["risk-response"].title, before["risk-response"].due)
    assert f"cpcm followup {case_id}" in response.why and f"cpcm close {case_id} --withdraw" in response.why
    assert "referral, plan" not in response.why
    service.close_withdraw(amina, case_id, "asked for too early")
    after = _codes(mem, case_id)
    assert {"comprehensive-assessment", "turning-18"} <= set(after)
    assert after["risk-response"].why == before["risk-response"].why


def test_closure_requested__a_risk_found_increased_stays_urgent_and_names_the_follow_up_that_re_rates_it():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.followup(amina, case_id, dict(VISIT, risk_increased="yes"))
    open_item = _codes(mem, case_id)["risk-increased"]
    assert "cpcm assess" in open_item.why
    service.close(amina, case_id, DECLINED)
    item = _codes(mem, case_id)["risk-increased"]
    assert deadlines.is_urgent(item) and (item.title, item.due) == (open_item.title, open_item.due)
    assert "cpcm assess" not in item.why
    assert f"cpcm followup {case_id} ... --risk LEVEL" in item.why and f"cpcm close {case_id} --withdraw" in item.why
    # the follow-up it names is accepted at that stage, and answers it
    service.followup(amina, case_id, RERATED)
    assert "risk-increased" not in _codes(mem, case_id)
