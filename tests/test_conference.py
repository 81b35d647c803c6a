"""Case conferences: plan, nominate, attendance, minutes, close into each case's plan, documents
with case IDs only, the SOP's rules at their boundaries, one commit per command.

The rules at the service level over a repository in memory (tests/memory_repo.py: fixed `now`,
no disk, git or age); exit codes, the --json shape, one commit per command and what reaches the
disk end to end through the CLI, git and age (the `test_cli__` tests)."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from conftest import CANARY, commit_count, git, register
from cpcm import service
from cpcm.errors import InvalidInput, NotFound, Refused
from cpcm.service import conferences
from cpcm.store.casestore import CONFERENCES
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL, INITIAL_DATA, plan_doc
from cpcm.store.layout import case_rel

GOLDEN = Path(__file__).parent / "golden"
CLOSE_NOW = "2026-11-30T13:00:00+03:00"
LATER = "2026-11-30T15:00:00+03:00"
MEMBERS = [("Children's office", "Officer One", "SCCO"), ("Health centre", "Nurse Two", "Nurse"),
           ("School", "Teacher Three", "Head teacher"), ("Agency", "Worker Four", "Social worker"),
           ("Agency", "Worker Five", "Case manager")]


# -- in memory ----------------------------------------------------------------------------------------
def planned_in(mem: MemoryRepo, name: str = "Test Child", worker: str = "amina") -> str:
    """A registered case (named `name`), assessed, with a plan, in the memory repository."""
    ctx = mem.as_(worker)
    case_id = mem.register(ctx, child={"name": name, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    service.assess(ctx, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.assess(ctx, case_id, "comprehensive", COMPREHENSIVE)
    service.plan(ctx, case_id, plan_doc())
    return case_id


def conference_in(ctx, kind: str = "internal", when: str = "2026-11-30", **extra) -> str:
    """A conference planned the way `new_conference` plans one through the CLI."""
    options = {"venue": "Meeting room", "notice_sent": "2026-11-23", "invitations_sent": "2026-11-23", **extra}
    return conferences.new(ctx, kind, when, **options).subject_id


def member(institution: str, name: str, position: str, signed: str | None = "yes", present: str = "yes") -> dict:
    """An attendance entry as `cpcm conference attend` passes it."""
    return {"institution": institution, "name": name, "position": position, "contact": "0700 000000",
            "confidentiality_signed": signed, "present": present, "role": None}


def in_one_commit(mem: MemoryRepo, run):
    """`run()`, which must make exactly one commit; returns what it returned."""
    before = mem.commits()
    result = run()
    assert mem.commits() == before + 1
    return result


def last_message(mem: MemoryRepo) -> str:
    return mem.store.commits[-1].message


def warned(written) -> str:
    return "\n".join(written.warnings)


# -- through the CLI ----------------------------------------------------------------------------------
def planned_case(cli, name: str, **registered) -> str:
    """A registered case (with a canary name), assessed, with a plan; `registered`: other fields of
    the registration (lives_with="institution": a child in a CCI)."""
    case_id = register(cli, child={"name": name, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}, **registered)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    return case_id


def one_commit(repo, run):
    before = commit_count(repo)
    result = run()
    assert result.code == 0, result.stderr
    assert commit_count(repo) == before + 1
    return result


def new_conference(sup, *extra) -> str:
    result = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room",
                 "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json", *extra)
    assert result.code == 0, result.stderr
    return result.json()["conference_id"]


def closed_through_cli(closer, conf: str, case_ids) -> None:
    """Close a conference through the CLI (`closer`: a supervisor on the meeting's day): the members present, the
    minutes of `case_ids`, then `conference close`."""
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc(list(case_ids)))).code == 0
    assert closer("conference", "close", conf).code == 0


def minutes_doc(case_ids):
    return {
        "minute_taker": "Rotating member (case manager)",
        "reminder_given": True,
        "key_issues": "School fees and food insecurity across several households.",
        "service_gaps": "No counselling service in the ward.",
        "cases": [{
            "case": case_id,
            "summary": f"Summary {n}, identified by case ID only",
            "discussion": f"Discussion of case {n}: school attendance and food.",
            "decisions": [f"Decision {n}"],
            "actions": [{"need": "education", "action": f"Enrol in school ({n})", "responsible": "amina", "timeline": "2026-12-15"},
                        {"need": "food", "action": f"Food support referral ({n})", "responsible": "Ward social protection office",
                         "timeline": "2026-12-20", "mode": "referral", "goal": "G2"}],
        } for n, case_id in enumerate(case_ids, start=1)],
    }


def normalise(text: str) -> str:
    seen: dict[str, str] = {}

    def sub(match):
        prefix = match.group(1)
        key = match.group(0)
        if key not in seen:
            seen[key] = f"{prefix}-ID{len([k for k in seen if k.startswith(prefix)]) + 1}"
        return seen[key]

    return re.sub(r"\b(CC|CP)-[0-9A-Z]{4}-[0-9A-Z]{4}\b", sub, text)


# -- the rules, at the service level ------------------------------------------------------------------
def test_full_conference__actions_reach_each_case_plan_and_the_documents_hold_no_names():
    mem = MemoryRepo()
    cases = [planned_in(mem, f"{CANARY} {n}") for n in range(4)]
    sup = mem.as_("sup")
    conf = in_one_commit(mem, lambda: conference_in(sup))
    assert last_message(mem) == f"conference new {conf}"
    for case_id in cases:
        added = in_one_commit(mem, lambda: conferences.add_case(sup, conf, case_id, "especially_difficult"))
        assert any("Form 1" in line for line in added.extra["prompts"])  # the presentation prompts
        assert last_message(mem) == f"conference add-case {conf} {case_id}"
    # the caseworker of the cases is now a reader of the conference
    assert "amina" in mem.store.recipients(conf, CONFERENCES)
    assert conferences.load(mem.as_("amina"), conf).cases[0]["case_id"] == cases[0]
    closer = mem.as_("sup", now=CLOSE_NOW)  # attendance, minutes and closing once the meeting has started
    for institution, name, position in MEMBERS:
        in_one_commit(mem, lambda: conferences.attend(closer, conf, member(institution, name, position)))
    in_one_commit(mem, lambda: conferences.minutes(closer, conf, minutes_doc(cases)))
    closed = in_one_commit(mem, lambda: conferences.close(closer, conf))
    assert last_message(mem) == f"conference close {conf}"
    assert closed.subject_id == conf
    changed = mem.store.commits[-1].files
    amina = mem.as_("amina", now=CLOSE_NOW)
    for n, case_id in enumerate(cases, start=1):
        shown = service.show(amina, case_id)
        plan = shown["plan"]
        assert plan["version"] == 2 and plan["reason"] == "conference_decision"
        actions = plan["content"]["actions"]
        assert len(actions) == 4  # the two of the first version and the conference's two
        assert [a["id"] for a in actions] == ["A1", "A2", "A3", "A4"]  # the first version's keep theirs, the new take the next
        assert actions[2] == {"id": "A3", "what": f"Enrol in school ({n})", "who": "caseworker", "who_detail": "amina", "by": "2026-12-15", "mode": "direct"}
        assert actions[3]["who"] == "other" and actions[3]["mode"] == "referral" and actions[3]["goal"] == "G2"
        assert plan["content"]["goals"] == plan_doc()["goals"] or len(plan["content"]["goals"]) == 2
        kinds = [h["kind"] for h in shown["history"]]
        assert kinds[-2:] == ["plan", "conference"]
        assert any(path.startswith(f"{case_rel(case_id)}/") for path in changed)
    # the report is due for the chair, and goes once rendered
    due = [i for i in service.due(closer) if i.code == "conference-report"]
    assert [(i.case_id, i.owner) for i in due] == [(conf, "sup")]
    assert not [i for i in service.due(amina) if i.code == "conference-report"]
    later = mem.as_("sup", now=LATER)
    minutes = in_one_commit(mem, lambda: service.render(later, "minutes", conf)).text
    assert [i for i in service.due(later) if i.code == "conference-report"]  # minutes are not the report
    report = in_one_commit(mem, lambda: service.render(later, "conference-report", conf)).text
    assert not [i for i in service.due(later) if i.code == "conference-report"]
    assert last_message(mem).startswith(f"conference render {conf} ")
    for text in (minutes, report, service.render(later, "agenda", conf).text):
        assert "Zqxcanary" not in text and "Wbvmarker" not in text
    for case_id in cases:
        assert case_id in minutes and case_id in report
    assert normalise(minutes) == (GOLDEN / "conference-minutes.en.md").read_text(encoding="utf-8")
    # every format and language renders
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            for template in ("agenda", "minutes", "conference-report", "form-5"):
                assert "Zqxcanary" not in service.render(later, template, conf, lang=lang, fmt=fmt).text, (template, lang, fmt)
    # no name in any of the conference's records (their plaintext), nor in a commit message
    for path in mem.store.record_files(conf, CONFERENCES):
        assert b"Zqxcanary" not in mem.store.read_raw(path, later.keys)[1]
    assert not [c for c in mem.store.commits if "Zqxcanary" in c.message]


def test_minutes_replaced_after_closing__a_case_the_chair_cannot_read_is_warned_and_brought_in_line_by_a_supervisor():
    """The chair (a caseworker) replaces a closed conference's minutes: her case's conference record is corrected
    in the update's commit; a case she cannot read is named in a warning (IDs only) with who brings it in line,
    and a supervisor giving the same minutes again corrects it, leaving hers as it is. The plan version the
    close wrote stays the conference's decision though another corrected its link."""
    from cpcm.service import context
    from cpcm.workflow.fold import effective, fold

    mem = MemoryRepo()
    hers, other = planned_in(mem, f"{CANARY} One"), planned_in(mem, f"{CANARY} Two", worker="otieno")
    sup = mem.as_("sup")
    conf = conference_in(sup, chair="amina")
    for case_id in (hers, other):
        conferences.add_case(sup, conf, case_id, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc([hers, other]))
    conferences.close(closer, conf)

    def link(case_id: str):
        records = context.load_records(sup, case_id)
        return records, next(r for r in effective(records) if r.kind == "conference")

    closed_links = {case_id: link(case_id)[1].id for case_id in (hers, other)}
    mended = minutes_doc([hers, other])
    for entry in mended["cases"]:
        entry["actions"][0]["timeline"] = "2027-02-20"
    chair = mem.as_("amina", now=LATER)
    written = in_one_commit(mem, lambda: conferences.update(chair, conf, {"minutes": mended}, reason="timeline mistyped"))
    assert [(c["case_id"], c["supersedes"]) for c in written.extra["corrected"]] == [(hers, closed_links[hers])]
    [unread] = [w for w in written.warnings if w.startswith(f"{other}:") and "conference record" in w]
    assert "you (amina) cannot read it" in unread and f"cpcm conference update {conf} --minutes FILE" in unread
    assert "Zqxcanary" not in warned(written)
    assert link(other)[1].id == closed_links[other]
    records, corrected = link(hers)
    assert corrected.by == "amina" and corrected.body["actions"][0]["timeline"] == "2027-02-20"
    assert fold(hers, records).plan["conference"] == {"id": conf, "by": "sup", "record": corrected.body["plan"]}

    again = in_one_commit(mem, lambda: conferences.update(mem.as_("sup", now=LATER), conf, {"minutes": mended},
                                                          reason="the other case's record"))
    assert [c["case_id"] for c in again.extra["corrected"]] == [other] and not again.warnings
    assert link(other)[1].body["actions"][0]["timeline"] == "2027-02-20" and link(hers)[1].id == corrected.id
    with pytest.raises(Refused) as nothing:  # every record in line: the same minutes again are nothing to update
        conferences.update(mem.as_("sup", now=LATER), conf, {"minutes": mended}, reason="again")
    assert nothing.value.rule == "nothing-to-update"


def test_minutes_replaced_after_closing__a_later_version_in_force_is_the_one_the_next_step_names():
    """After a later conference's close (its version approved, in force) copied the first
    conference's actions on, the first's minutes are mended: the next step names the version in
    force now, with the action's ID, and says the actions continue there (was: the version the
    first close wrote, superseded, whose correction changed neither the plan in force nor `cpcm
    due`). The mend with no later version names the close's own version (the test above)."""
    mem = MemoryRepo()
    case_id = planned_in(mem, f"{CANARY} One")
    sup = mem.as_("sup", now=LATER)
    first = closed_with(mem, case_id)
    service.approve(sup, case_id, "plan")
    closed_version = service.show(sup, case_id, "plan")["record_id"]
    later_minutes = minutes_doc([case_id])
    for action in later_minutes["cases"][0]["actions"]:
        action["action"] += " (next conference)"
    conferences.close(mem.as_("sup", now=CLOSE_NOW), minuted_with(mem, case_id, cases=later_minutes["cases"]))
    service.approve(sup, case_id, "plan")
    in_force = service.show(sup, case_id, "plan")
    assert in_force["record_id"] != closed_version
    mended = minutes_doc([case_id])
    mended["cases"][0]["actions"][0]["timeline"] = "2027-02-20"  # Enrol in school (1): A3 in both versions
    written = conferences.update(sup, first, {"minutes": mended}, reason="timeline mistyped")
    [step] = [s for s in written.next_steps if s.startswith(f"{case_id}:")]
    assert f"superseded by plan version 3 ({in_force['record_id']}), in force now" in step, step
    assert f"cpcm correct {case_id} {in_force['record_id']} --set actions.A3.FIELD=VALUE" in step, step
    assert f"cpcm correct {case_id} {closed_version}" not in step and "continue (A3)" in step, step
    assert "2027-02-20" not in step and "Zqxcanary" not in step


def test_minutes_replaced_after_closing__a_later_version_waiting_with_the_changed_action_is_named_too():
    """After a later conference's close wrote a version that copies the first conference's actions
    on and waits for approval, the first's minutes are mended: the next step names the version in
    force (the first close's) and the waiting one, with the action's ID, to be corrected as well
    (was: only the version in force, and approving the waiting one put the old date back in force)."""
    mem = MemoryRepo()
    case_id = planned_in(mem, f"{CANARY} One")
    sup = mem.as_("sup", now=LATER)
    first = closed_with(mem, case_id)
    service.approve(sup, case_id, "plan")
    closed_version = service.show(sup, case_id, "plan")["record_id"]
    later_minutes = minutes_doc([case_id])
    for action in later_minutes["cases"][0]["actions"]:
        action["action"] += " (next conference)"
    conferences.close(mem.as_("sup", now=CLOSE_NOW), minuted_with(mem, case_id, cases=later_minutes["cases"]))
    waiting = service.show(sup, case_id, "plan")["record_id"]
    assert waiting != closed_version
    mended = minutes_doc([case_id])
    mended["cases"][0]["actions"][0]["timeline"] = "2027-02-20"  # Enrol in school (1): A3 in both versions
    written = conferences.update(sup, first, {"minutes": mended}, reason="timeline mistyped")
    [step] = [s for s in written.next_steps if s.startswith(f"{case_id}:")]
    assert f"cpcm correct {case_id} {closed_version} --set actions.ID.FIELD=VALUE" in step, step
    assert f"plan version 3 ({waiting}), waiting for approval, holds them too (A3)" in step, step
    assert f"cpcm correct {case_id} {waiting} --set actions.A3.FIELD=VALUE" in step, step
    assert "2027-02-20" not in step and "Zqxcanary" not in step
    # as the step says (the waiting one by the case's worker, so that the supervisor may approve it): the approval
    # keeps the mended date in force
    for ctx, record in ((sup, closed_version), (mem.as_("amina", now=LATER), waiting)):
        service.correct(ctx, case_id, record, {}, "timeline mistyped", sets=[("actions.A3.by", "2027-02-20")])
    service.approve(sup, case_id, "plan")
    [a3] = [a for a in service.plan_current(sup, case_id)[1]["actions"] if a["id"] == "A3"]
    assert str(a3["by"]) == "2027-02-20"


def minuted_with(mem: MemoryRepo, case_id: str, others: tuple = (), **minutes) -> str:
    """An internal conference of `case_id`, held: attended by MEMBERS (and `others`: attendance
    entries) and minuted (`minutes`: fields over `minutes_doc`) by the supervisor."""
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    for entry in others:
        conferences.attend(closer, conf, entry)
    conferences.minutes(closer, conf, dict(minutes_doc([case_id]), **minutes))
    return conf


def closed_with(mem: MemoryRepo, case_id: str) -> str:
    """`minuted_with`, then closed by the supervisor."""
    conf = minuted_with(mem, case_id)
    conferences.close(mem.as_("sup", now=CLOSE_NOW), conf)
    return conf


def test_close__days_after_the_meeting_says_when_the_report_is_due_as_due_lists_it_not_within():
    """Was: a conference closed three days after its meeting said "the report with the action points
    is due within 24 hours" while `cpcm due` listed the report overdue since the day after the
    meeting (Form 3 item 8 counts from the meeting's start, never from the close). The next step
    now gives the due time of `due`'s own item (context.due_said): 'was due by WHEN (overdue)' once
    passed, else 'is due by WHEN', with the rule and its source."""
    from cpcm.domain.dates import local_text

    mem = MemoryRepo()
    for closing, said in (("2026-12-03T10:00:00+03:00", "was due by {} (overdue)"), (CLOSE_NOW, "is due by {}")):
        conf = minuted_with(mem, planned_in(mem))
        closer = mem.as_("sup", now=closing)
        closed = conferences.close(closer, conf)
        [item] = [i for i in service.due(closer) if i.code == "conference-report" and i.case_id == conf]
        assert closed.next_steps[0] == (f"the report with the action points, 24 hours after the meeting's start (Kenya "
                                        f"case-conferencing SOP Form 3 item 8), {said.format(local_text(item.due, closer.zone))}: "
                                        f"cpcm render conference-report {conf}"), closed.next_steps
        assert "within" not in closed.next_steps[0]


def test_minutes_and_report__a_team_member_responsible_is_printed_by_name_not_worker_id():
    """The minutes take the responsible person as a worker id (`amina`); the minutes (Form 7) and
    the report (Form 8) print the name colleagues know, and an institution as written."""
    from dataclasses import replace

    mem = MemoryRepo()
    mem.team = type(mem.team)(tuple(replace(w, name="Amina Hassan") if w.id == "amina" else w for w in mem.team.workers))
    case_id = planned_in(mem)
    conf = closed_with(mem, case_id)
    later = mem.as_("sup", now=LATER)
    for template in ("minutes", "conference-report"):
        for fmt in ("md", "html"):
            text = service.render(later, template, conf, fmt=fmt).text
            assert "Enrol in school (1)" in text and "Amina Hassan" in text, (template, fmt)
            assert not re.search(r"[|>] ?amina ?[|<]", text), (template, fmt)
            assert "Ward social protection office" in text


def corrected_then_withdrawn(mem: MemoryRepo) -> str:
    """A case whose approved plan was corrected (A1's date), then a later version written and withdrawn."""
    case_id = planned_in(mem)
    amina = mem.as_("amina")
    service.approve(mem.as_("sup"), case_id, "plan")
    # approved: what was approved is corrected by one who may decide it, the supervisor (test_correct_decided.py)
    service.correct(mem.as_("sup"), case_id, "plan", {"actions": {"A1": {"by": "2027-01-31"}}}, "date mistyped")
    service.plan(amina, case_id, dict(plan_doc(), contingency="written by mistake"))
    service.plan_withdraw(amina, case_id, "written by mistake")
    return case_id


def test_close__builds_on_a_corrected_plan_and_not_on_a_withdrawn_version():
    """Closing copies the plan a revision starts from: a plan corrected with `cpcm correct` (was:
    refused, "2 keys are not fields of the plan form": the correction's supersedes and reason were
    copied in), and the version in force when a later one was withdrawn (was: the withdrawn one)."""
    mem = MemoryRepo()
    case_id, amina = corrected_then_withdrawn(mem), mem.as_("amina")
    closed_with(mem, case_id)
    plan = service.show(mem.as_("amina", now=LATER), case_id)["plan"]
    content = plan["content"]
    assert content["reason"] == "conference_decision" and "supersedes" not in content and "correction_reason" not in content
    assert content["contingency"] != "written by mistake"
    by_id = {a["id"]: a for a in plan["actions"]}
    assert str(by_id["A1"]["by"]) == "2027-01-31", by_id["A1"]
    assert any("Enrol in school (1)" in a["what"] for a in content["actions"])


def test_close__a_plan_corrected_last_is_copied_without_the_corrections_own_fields():
    mem = MemoryRepo()
    case_id = planned_in(mem)
    service.approve(mem.as_("sup"), case_id, "plan")
    # approved: the contingency is corrected by the supervisor, who may decide it (test_correct_decided.py)
    service.correct(mem.as_("sup"), case_id, "plan", {"contingency": "the aunt in Kondele takes the child"}, "contingency mistyped")
    closed_with(mem, case_id)  # was: InvalidInput, "2 keys are not fields of the plan form"
    content = service.show(mem.as_("amina", now=LATER), case_id)["plan"]["content"]
    assert content["contingency"] == "the aunt in Kondele takes the child" and "supersedes" not in content


def test_plan_from_current__after_a_correction_and_a_withdrawn_version_starts_from_the_corrected_one():
    """The approved plan corrected, a later version withdrawn: the version in force is the
    corrected one, and `plan --from-current` (and --edit) start from it (was: "has no plan yet to
    start from", the fold run twice over the corrections lost the approval)."""
    mem = MemoryRepo()
    case_id, amina = corrected_then_withdrawn(mem), mem.as_("amina")
    based_on, body = service.plan_current(amina, case_id)
    assert body["contingency"] != "written by mistake" and str(body["actions"][0]["by"]) == "2027-01-31", body
    written = service.plan_revise(amina, case_id, "review", {"actions": {"A2": {"by": "2027-02-28"}}})
    assert written.extra["actions"] == ["A1", "A2"], written.extra


def test_conference_report__a_reprint_keeps_the_day_the_report_was_compiled():
    """Form 8's "report compiled" is the day it was first compiled after closing (within the
    SOP's 24 hours); printing it again months later does not move that day."""
    mem = MemoryRepo()
    case_id = planned_in(mem)
    conf = closed_with(mem, case_id)
    first = service.render(mem.as_("sup", now=LATER), "conference-report", conf).text
    assert "**Report compiled:** 30 November 2026" in first
    for fmt in ("md", "html"):
        again = service.render(mem.as_("sup", now="2027-03-20T10:00:00+03:00"), "conference-report", conf, fmt=fmt).text
        assert "30 November 2026" in again and "20 March 2027" not in again, fmt


def test_meeting_documents__the_view_has_no_name_field_for_children():
    from cpcm.domain.records import Record
    from cpcm.render.views import conference_view as document_view
    from cpcm.store import policies
    from cpcm.workflow.conferences import fold

    records = [Record("conference", 1, "01JD0000000000000000000001", "CC-0000-0000", "2026-11-23T09:00:00+03:00",
                      "2026-11-23T09:00:00+03:00", "sup", {"type": "internal", "date": "2026-11-30", "chair": "sup"}),
               Record("nomination", 1, "01JD0000000000000000000002", "CC-0000-0000", "2026-11-23T09:00:00+03:00",
                      "2026-11-23T09:00:00+03:00", "sup", {"case_id": "CP-0000-0000", "reason": "especially_difficult"})]
    view = document_view(fold("CC-0000-0000", records), policies.load("kenya"), "en", date(2026, 11, 23), {})
    assert set(view["cases"][0]) == {"id", "reason", "presentation", "worker", "opened", "risk", "stage", "summary", "discussion",
                                     "decisions", "actions", "minuted", "progress", "successes", "challenges", "bottlenecks", "facts",
                                     "preparation"}
    # Form 8 Part I's facts (service conferences.form8_facts): no name, no birth date, no contact
    facts = {"location": {}, "sex": "female", "age_band": "10-14", "lives_with": "relatives", "concerns": [], "concerns_other": None,
             "categories": [], "plan_actions": []}
    view = document_view(fold("CC-0000-0000", records), policies.load("kenya"), "en", date(2026, 11, 23), {},
                         facts={"CP-0000-0000": facts})
    assert set(view["cases"][0]["facts"]) == set(facts)


@pytest.mark.parametrize("kind,count,warned_past", [("internal", 6, False), ("internal", 7, True), ("external", 4, False),
                                                    ("external", 5, True)])
def test_case_limit__warned_past_the_sops_limit(kind, count, warned_past):
    mem = MemoryRepo()
    sup = mem.as_("sup")
    cases = [mem.register(sup) for _ in range(count)]
    conf = conferences.new(sup, kind, "2026-12-10").subject_id
    earlier = [conferences.add_case(sup, conf, c, "service_options_exhausted") for c in cases[:-1]]
    assert all("max_cases" not in w for r in earlier for w in r.warnings)
    last = conferences.add_case(sup, conf, cases[-1], "service_options_exhausted")
    assert ("conference.max_cases" in warned(last)) is warned_past
    if warned_past:
        assert "SOP" in warned(last)


@pytest.mark.parametrize("notice,warned_late", [("2026-11-23", False), ("2026-11-24", True)])
def test_notice__seven_days_ahead_is_fine_six_is_warned(notice, warned_late):
    mem = MemoryRepo()
    written = conferences.new(mem.as_("sup", now="2026-11-24T12:00:00+03:00"), "external", "2026-11-30", notice_sent=notice,
                              invitations_sent="2026-11-23", attendance_confirmed="2026-11-23")
    assert ("conference.notice" in warned(written)) is warned_late
    if warned_late:
        assert "6 day(s)" in warned(written) and "SOP" in warned(written)


def test_timeline__a_form_3_date_still_to_come_is_refused_and_nothing_written():
    """'When participants were told', 'invited', 'attendance confirmed' are days that have come:
    one after today (2026-11-23) is refused, naming the field, as a record's --at in the future."""
    mem = MemoryRepo()
    sup = mem.as_("sup")
    before = mem.commits()
    with pytest.raises(InvalidInput) as ahead:
        conferences.new(sup, "internal", "2026-12-20", notice_sent="2026-11-30", invitations_sent="2026-11-23")
    assert [e.field for e in ahead.value.errors] == ["notice_sent"] and "in the future" in ahead.value.message
    assert mem.commits() == before
    conf = conferences.new(sup, "internal", "2026-12-20", notice_sent="2026-11-23").subject_id
    with pytest.raises(InvalidInput):
        conferences.update(sup, conf, {"invitations_sent": "2026-11-24"})
    assert mem.commits() == before + 1


def test_timeline__missing_dates_are_checked_as_of_today():
    mem = MemoryRepo()
    soon = conferences.new(mem.as_("sup"), "internal", "2026-11-25")
    assert "conference.notice" in warned(soon) and "conference.confirmation" in warned(soon)


def test_attendance__a_member_without_a_signed_agreement_cannot_be_present():
    mem = MemoryRepo()
    conf = conference_in(mem.as_("sup"))
    sup = mem.as_("sup", now=CLOSE_NOW)  # at the meeting
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.attend(sup, conf, member("School", "Teacher", "Teacher", signed="no"))
    assert refused.value.rule == conferences.REMINDER_RULE
    assert "confidentiality agreement" in refused.value.message and "Form 5" in refused.value.hint
    assert mem.commits() == before
    in_one_commit(mem, lambda: conferences.attend(sup, conf, member("School", "Teacher", "Teacher", signed="no", present="no")))
    assert len(conferences.load(sup, conf).present) == 0


def test_participants__outside_five_to_ten_is_warned_at_minutes_and_close():
    mem = MemoryRepo()
    case_id = planned_in(mem)
    conf = conference_in(mem.as_("sup"))
    conferences.add_case(mem.as_("sup"), conf, case_id, "especially_difficult")
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    for n in range(4):
        conferences.attend(at_meeting, conf, member("Agency", f"Member {n}", "Staff"))
    minuted = conferences.minutes(at_meeting, conf, minutes_doc([case_id]))
    assert "conference.participants: 4" in warned(minuted)
    assert "conference.participants" in warned(conferences.close(at_meeting, conf))


def test_minutes__a_missing_field_and_a_case_not_nominated_are_named_together():
    mem = MemoryRepo()
    case_id, other = planned_in(mem), planned_in(mem)
    conf = conference_in(mem.as_("sup"))
    conferences.add_case(mem.as_("sup"), conf, case_id, "especially_difficult")
    doc = minutes_doc([case_id, other])
    del doc["cases"][0]["discussion"]
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        conferences.minutes(mem.as_("sup", now=CLOSE_NOW), conf, doc)
    assert {e.field for e in refused.value.errors} == {"cases[1].discussion", "cases[2].case"}, str(refused.value)
    assert mem.commits() == before


def test_minutes__refused_when_they_hold_a_childs_name():
    mem = MemoryRepo()
    case_id = planned_in(mem, CANARY)
    conf = conference_in(mem.as_("sup"))
    conferences.add_case(mem.as_("sup"), conf, case_id, "especially_difficult")
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = "Zqxcanary is doing better at school."
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.minutes(mem.as_("sup", now=CLOSE_NOW), conf, doc)
    assert refused.value.rule == "conference-no-names" and "cases[1].discussion" in refused.value.message
    assert "Zqxcanary" not in refused.value.message + (refused.value.hint or "")
    assert mem.commits() == before


def test_venue__naming_a_childs_family_is_refused_on_update_and_before_the_case_joins():
    """The venue goes on the agenda and the minutes: "Zqxcanary's home" is refused when a case of
    the conference is that child's, and a case whose child the venue names cannot join until the
    venue is changed. The name is never repeated."""
    mem = MemoryRepo()
    case_id = planned_in(mem, CANARY)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.update(sup, conf, {"venue": "Zqxcanary's home, Nyalenda"})  # no case yet: nothing to refuse it by
    before = mem.commits()
    with pytest.raises(Refused) as joining:
        conferences.add_case(sup, conf, case_id, "especially_difficult")
    assert joining.value.rule == "conference-no-names" and "venue" in joining.value.message
    assert "--venue" in joining.value.hint and "Zqxcanary" not in joining.value.message + joining.value.hint
    assert mem.commits() == before
    conferences.update(sup, conf, {"venue": "the office meeting room"})
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    before = mem.commits()
    with pytest.raises(Refused) as updated:
        conferences.update(sup, conf, {"venue": "Zqxcanary's home"})
    assert updated.value.rule == "conference-no-names" and "Zqxcanary" not in updated.value.message
    assert mem.commits() == before


def test_names__the_family_traced_placed_with_or_assessed_is_refused_too_and_counted_not_named_in_attendance():
    """Not only the registration's names: a relative found by family tracing, the caregiver of a
    placement or a family assessment, named in a presentation or the minutes, is refused (the
    field and case named, never the name); a relative at the meeting, known by the phone the
    tracing recorded, is counted in the documents, not named."""
    mem = MemoryRepo()
    case_id = planned_in(mem)
    amina, sup = mem.as_("amina"), mem.as_("sup")
    service.tracing(amina, case_id, {"sources": ["child"], "outcome": "family_found",
                                     "people": [{"name": "Wbvaunt Qxtraced", "relationship": "aunt", "found": "yes",
                                                 "willing": "yes", "contact": "0722 333444"}]})
    service.placement(sup, case_id, {"care_type": "kinship", "caregiver": {"name": "Zqgran Placedwith", "relationship": "grandmother"},
                                     "address": "Nyakach"}, override_reason="kinship care")
    conf = conference_in(sup)
    before = mem.commits()
    for text in ("Wbvaunt Qxtraced was traced", "Zqgran agreed to care for the child"):
        with pytest.raises(Refused) as refused:
            conferences.add_case(sup, conf, case_id, "reintegration_decision", presentation=text)
        assert refused.value.rule == "conference-no-names" and "presentation" in refused.value.message
        assert "Wbvaunt" not in refused.value.message + (refused.value.hint or "")
        assert "Zqgran" not in refused.value.message + (refused.value.hint or "")
    assert mem.commits() == before
    conferences.add_case(sup, conf, case_id, "reintegration_decision", presentation="an aunt was traced")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.attend(closer, conf, dict(member("Community", "Auntie", "relative"), contact="0722333444"))
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = "Zqgran Placedwith is coping."
    with pytest.raises(Refused) as named:
        conferences.minutes(closer, conf, doc)
    assert named.value.rule == "conference-no-names" and "cases[1].discussion" in named.value.message
    conferences.minutes(closer, conf, minutes_doc([case_id]))
    text = service.render(closer, "minutes", conf).text
    assert "Auntie" not in text and "0722333444" not in text


def test_list_and_show():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    conf = conference_in(sup)
    assert [c.id for c in conferences.list_conferences(sup)] == [conf]
    assert conferences.load(sup, conf).status == "planned"
    with pytest.raises(NotFound):
        conferences.load(sup, "CC-0000-0001")


# -- through the CLI, git and age ---------------------------------------------------------------------
def test_cli__a_conference_one_commit_per_command_with_its_json_and_no_names_on_disk(cli, cli_as, repo):
    case_id = planned_case(cli, CANARY)
    sup = cli_as("sup")
    before = commit_count(repo)
    conf = new_conference(sup)
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference new {conf}"
    added = one_commit(repo, lambda: sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult"))
    assert "Form 1" in added.stderr  # the presentation prompts
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference add-case {conf} {case_id}"
    assert "amina" in (repo / "conferences" / conf / "recipients").read_text()
    assert cli("conference", "show", conf, "--json").json()["cases"][0]["case_id"] == case_id
    assert [c["conference_id"] for c in sup("conference", "list", "--json").json()] == [conf]
    assert "\t2026-11-30\t" in sup("conference", "list").stdout  # a date alone, as it is
    timed = new_conference(sup, "--date", "2026-12-01T09:30")
    listed = sup("conference", "list").stdout  # a time, local with its offset
    assert f"{timed}\tinternal\t2026-12-01 09:30 +03:00\t" in listed, listed
    shown = sup("conference", "show", timed).stdout
    assert "date\t2026-12-01 09:30 +03:00" in shown and shown.startswith("field\tvalue\n"), shown  # a header, as show CASE has
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        attended = one_commit(repo, lambda: closer("conference", "attend", conf, "--institution", institution, "--name", name,
                                                   "--position", position, "--contact", "0700 000000",
                                                   "--confidentiality-signed", "yes", "--json"))
    assert attended.json()["conference_id"] == conf
    one_commit(repo, lambda: closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))))
    closed = one_commit(repo, lambda: closer("conference", "close", conf, "--json"))
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference close {conf}"
    assert closed.json()["conference_id"] == conf and closed.json()["cases"][0]["case_id"] == case_id
    shown = cli("show", case_id, "--json").json()
    assert shown["plan"]["version"] == 2 and shown["plan"]["reason"] == "conference_decision"
    due = [i for i in closer("due", "--json").json() if i["code"] == "conference-report"]
    assert [(i["case_id"], i["owner"]) for i in due] == [(conf, "sup")]
    later = cli_as("sup", CPCM_NOW=LATER)
    report = one_commit(repo, lambda: later("render", "conference-report", conf))
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"conference render {conf} ")
    assert case_id in report.stdout and "Zqxcanary" not in report.stdout
    assert not [i for i in later("due", "--json").json() if i["code"] == "conference-report"]
    # nothing about the children in plaintext in the conference folder or the history
    for path in (repo / "conferences" / conf).iterdir():
        assert b"Zqxcanary" not in path.read_bytes()
    assert "Zqxcanary" not in git(repo, "log", "--format=%B")
    assert sup("conference", "show", "CC-0000-0001").code == 2


def test_cli__a_conference_id_given_for_a_case_names_conference_show(cli_as, repo):
    sup = cli_as("sup")
    conference_id = new_conference(sup)
    for command in (("log", conference_id), ("show", conference_id)):
        wrong = sup(*command)
        assert wrong.code == 2 and "conference ID, not a case ID" in wrong.stderr and "cpcm conference show" in wrong.stderr, \
            wrong.stderr


def test_cli__a_refused_attendance_exits_4_with_its_rule_and_commits_nothing(cli_as, repo):
    conf = new_conference(cli_as("sup"))
    sup = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    before = commit_count(repo)
    refused = sup("conference", "attend", conf, "--institution", "School", "--name", "Teacher", "--position", "Teacher",
                  "--contact", "0700 000000", "--confidentiality-signed", "no", "--json")
    assert refused.code == 4
    assert refused.json()["rule"] == conferences.REMINDER_RULE and "Form 5" in refused.stderr + refused.stdout
    assert commit_count(repo) == before


def test_minutes__a_team_member_taking_the_minutes_is_printed_by_name_in_both_languages():
    """The minute-taker given as a worker id (`akinyi`, the way the responsible persons are) is
    printed by the name colleagues know, as the responsible persons are, in English and in
    Kiswahili, Markdown and HTML; someone from outside the team stays as written."""
    from dataclasses import replace

    mem = MemoryRepo()
    mem.team = type(mem.team)(tuple(replace(w, name="Amina Hassan") if w.id == "amina" else w for w in mem.team.workers))
    case_id = planned_in(mem)
    conf = minuted_with(mem, case_id, minute_taker="amina")
    later = mem.as_("sup", now=LATER)
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            text = service.render(later, "minutes", conf, lang=lang, fmt=fmt).text
            line = next(t for t in text.splitlines() if "Minute-taker" in t or "Mwandishi" in t)
            assert "Amina Hassan" in line and not re.search(r"\bamina\b", line), (lang, fmt, line)
    conferences.minutes(mem.as_("sup", now=LATER), conf, dict(minutes_doc([case_id]), minute_taker="Ward officer (SCCO)"))
    text = service.render(mem.as_("sup", now=LATER), "minutes", conf, lang="en").text
    assert "- **Minute-taker:** Ward officer (SCCO)" in text


# -- who took part in the plan version a conference makes -------------------------------------------------
def _plans_with_child(ctx, case_id: str) -> tuple[int, int]:
    """(plan versions, plan versions the child took part in), as `cpcm report statistics` counts them."""
    from cpcm.reports.statistics import MEASURE_KEYS, case_rows
    from cpcm.service import context
    from cpcm.workflow.fold import fold

    rows = case_rows(fold(case_id, context.load_records(ctx, case_id)))
    return (sum(1 for r in rows if r[0] == MEASURE_KEYS.index("plans")),
            sum(1 for r in rows if r[0] == MEASURE_KEYS.index("plans_with_child")))


def test_close__the_conferences_version_is_not_one_the_child_took_part_in_unless_the_child_was_there():
    """The first version was planned with the child (`participants.child: yes`); the conference,
    attended by professionals only, makes version 2: it must not carry the child's participation
    over, nor be counted by the statistics as a version the child took part in."""
    mem = MemoryRepo()
    case_id = planned_in(mem, "Amani Otieno")
    closed_with(mem, case_id)
    amina = mem.as_("amina", now=CLOSE_NOW)
    plan = service.show(amina, case_id)["plan"]
    assert plan["version"] == 2
    assert plan["content"]["participants"]["child"] == "no"
    assert plan["content"]["participants"]["caregivers"] == "no"
    assert plan["content"]["participants"]["others"].startswith("case conference CC-")
    assert _plans_with_child(amina, case_id) == (2, 1)


def test_close__the_child_recorded_present_at_the_conference_took_part_in_its_version():
    mem = MemoryRepo()
    case_id = planned_in(mem, "Amani Otieno")
    conf = minuted_with(mem, case_id, others=({"name": "Amani", "role": "family", "present": "yes"},))  # the child, by the registered name
    conferences.close(mem.as_("sup", now=CLOSE_NOW), conf)
    amina = mem.as_("amina", now=CLOSE_NOW)
    assert service.show(amina, case_id)["plan"]["content"]["participants"]["child"] == "yes"
    assert _plans_with_child(amina, case_id) == (2, 2)


def test_statistics__a_version_closed_before_attendance_was_kept_does_not_count_as_with_the_child():
    """A conference's version written before its link record kept `child_took_part` copied the
    participants of the version before it: the fold does not count it as made with the child."""
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import fold

    def record(id_: str, kind: str, body: dict) -> Record:
        return Record(kind=kind, schema=1, id=id_, case="CP-TEST-0001", at=f"2026-0{id_[-1]}-01T10:00:00+00:00",
                      recorded_at=f"2026-0{id_[-1]}-01T10:00:00+00:00", by="amina", body=body)

    with_child = {"participants": {"child": "yes", "caregivers": "yes"}}
    records = [record("01A1", "plan", with_child), record("01A2", "plan", dict(with_child, reason="conference_decision")),
               record("01A3", "conference", {"conference": "CC-TEST-0001", "plan": "01A2"})]
    assert fold("CP-TEST-0001", records).events["plan_with_child"] == fold("CP-TEST-0001", records[:1]).events["plan_with_child"]
    told = records[:2] + [record("01A3", "conference", {"conference": "CC-TEST-0001", "plan": "01A2", "child_took_part": True})]
    assert len(fold("CP-TEST-0001", told).events["plan_with_child"]) == 2


def test_close__a_family_name_that_fits_two_of_the_conferences_cases_counts_for_neither():
    """One attendance register serves every case of the conference. A child recorded as "Amani"
    fits "Amani Otieno" and "Amani Wanjiku" alike: which child was there cannot be told, so neither
    case's version says its child took part; the full name tells them apart."""
    mem = MemoryRepo()
    first, second = planned_in(mem, "Amani Otieno"), planned_in(mem, "Amani Wanjiku")
    sup = mem.as_("sup")

    def closed(attendee: str) -> tuple[str, str]:
        conf = conference_in(sup)
        for case_id in (first, second):
            conferences.add_case(sup, conf, case_id, "especially_difficult")
        closer = mem.as_("sup", now=CLOSE_NOW)
        for institution, name, position in MEMBERS:
            conferences.attend(closer, conf, member(institution, name, position))
        conferences.attend(closer, conf, {"name": attendee, "role": "family", "present": "yes"})
        conferences.minutes(closer, conf, minutes_doc([first, second]))
        conferences.close(closer, conf)
        amina = mem.as_("amina", now=CLOSE_NOW)
        return tuple(service.show(amina, c)["plan"]["content"]["participants"]["child"] for c in (first, second))

    assert closed("Amani") == ("no", "no")
    assert closed("Amani Wanjiku") == ("no", "yes")


def test_cli__the_report_shows_each_cases_risk_as_it_stood_at_the_meeting(cli, cli_as, repo):
    """The conference report (Form 8) is a record of the meeting: a case re-rated after its
    nomination and before the meeting shows the risk it had at the meeting, and a re-rating after
    the meeting, before the report is rendered, changes nothing in it (en and sw, md and html)."""
    visit = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check home", "--visited-by", "professional",
             "--risk-increased", "no", "--no-input")
    case_id = planned_case(cli, CANARY)  # rated high
    sup = cli_as("sup")
    conf = new_conference(sup)  # on 2026-11-30
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    before = cli_as("amina", CPCM_NOW="2026-11-27T10:00:00+03:00")("followup", case_id, *visit, "--risk", "medium",
                                                                      "--risk-reason", "the family is cooperating")
    assert before.code == 0, before.stderr
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    closed_through_cli(closer, conf, [case_id])
    after = cli_as("amina", CPCM_NOW="2026-12-10T10:00:00+03:00")("followup", case_id, *visit, "--risk", "low",
                                                                     "--risk-reason", "the child is settled at home")
    assert after.code == 0, after.stderr
    assert cli("show", case_id, "--json").json()["risk"] == "low"
    later = cli_as("sup", CPCM_NOW="2026-12-11T10:00:00+03:00")
    for lang, medium in (("en", "medium"), ("sw", "wastani")):
        for fmt in ("md", "html"):
            report = later("render", "conference-report", conf, "--lang", lang, "--format", fmt)
            assert report.code == 0, report.stderr
            row = next(line for line in report.stdout.splitlines()
                       if re.match(rf"^\s*(\| |<tr><td>){case_id}( \||</td>)", line) and ("<td>" in line or line.count("|") >= 7))
            cells = [c.strip() for c in re.split(r"\||</td><td>|<tr><td>|</td></tr>", row) if c.strip()]
            assert cells[3] == medium, (lang, fmt, row)


def test_cli__assign_hands_the_cases_conferences_over_to_its_new_worker_in_the_same_commit(cli, cli_as, repo, tmp_path):
    """A case handed over (`assign`, `assign --batch`) takes its conferences with it, open or
    closed: in the assignment's one commit each conference naming it is re-encrypted to its
    readers as they stand after it, the new worker reads it and the previous one no longer does
    (unless another case of theirs is in it); `cpcm verify` stays clean."""
    sup, otieno = cli_as("sup"), cli_as("otieno")
    closed_case, open_case, kept = (planned_case(cli, f"{CANARY} {n}") for n in ("One", "Two", "Three"))
    closed = new_conference(sup)
    assert sup("conference", "add-case", closed, closed_case, "--reason", "especially_difficult").code == 0
    closed_through_cli(cli_as("sup", CPCM_NOW=CLOSE_NOW), closed, [closed_case])
    opened = new_conference(sup, "--date", "2026-12-14")
    for case_id in (open_case, kept):
        assert sup("conference", "add-case", opened, case_id, "--reason", "especially_difficult").code == 0
    assert otieno("conference", "show", closed).code == 5

    def recipients(conf: str) -> list[str]:
        return [line for line in (repo / "conferences" / conf / "recipients").read_text().splitlines() if not line.startswith("#")]

    # one case: its closed conference follows it, in the assignment's one commit
    one_commit(repo, lambda: sup("assign", closed_case, "--worker", "otieno"))
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"assign {closed_case} ")
    assert "otieno" in recipients(closed) and "amina" not in recipients(closed)
    shown = otieno("conference", "show", closed, "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["cases"][0]["case_id"] == closed_case
    assert cli("conference", "show", closed).code == 5
    assert "amina" in recipients(opened) and "otieno" not in recipients(opened)  # a conference not naming it is left
    # a batch: amina keeps the open conference while another case of hers is in it
    path = tmp_path / "handover.csv"
    path.write_text(f"case,worker\n{open_case},otieno\n")
    one_commit(repo, lambda: sup("assign", "--batch", str(path)))
    assert "otieno" in recipients(opened) and "amina" in recipients(opened)
    assert otieno("conference", "show", opened).code == 0 and cli("conference", "show", opened).code == 0
    verified = sup("verify", "--json")
    assert verified.code == 0 and verified.json() == [], verified.stdout


def test_cli__assign_by_one_who_cannot_read_a_conference_of_the_case_warns_what_to_run(cli_as, repo):
    """A worker covering a colleague's case (who does not read its conference) assigns it: the
    assignment is written, the conference they cannot read is left as it is and named in a
    warning with what to run (a supervisor's `cpcm team sync`), which then hands it over."""
    sup, otieno, amina = cli_as("sup"), cli_as("otieno"), cli_as("amina")
    case_id = planned_case(otieno, CANARY)
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    assert sup("assign", case_id, "--cover", "amina", "--until", "2026-12-31").code == 0
    assert amina("conference", "show", conf).code == 5
    done = one_commit(repo, lambda: amina("assign", case_id, "--worker", "amina"))
    assert "cpcm team sync" in done.stderr and conf in done.stderr, done.stderr
    assert amina("conference", "show", conf).code == 5  # left as it was
    assert sup("team", "sync").code == 0
    assert amina("conference", "show", conf).code == 0 and otieno("conference", "show", conf).code == 5
    verified = sup("verify", "--json")
    assert verified.code == 0 and verified.json() == [], verified.stdout


def test_cli__minutes_replaced_after_closing_correct_the_conference_record_of_each_case_whose_part_changed(kenya):
    """A closed conference's minutes replaced (`conference update --minutes`) with an action's timeline mended:
    in the same commit the conference record its close wrote in that case is corrected as `cpcm correct` corrects
    a record, so `show CASE RECORD` and the case file read the new timeline and say it was corrected; a case whose
    part of the minutes did not change gets nothing; the plan keeps what closing copied into it, and the next
    step names the version to correct."""
    amina, sup = kenya("amina"), kenya("sup")
    mended, same = cases = [planned_case(amina, f"{CANARY} One"), planned_case(amina, f"{CANARY} Two")]
    conf = new_conference(sup)
    for case_id in cases:
        assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    chair = kenya("sup", CLOSE_NOW)
    closed_through_cli(chair, conf, cases)

    def links(case_id: str) -> list[dict]:
        return [e for e in amina("log", case_id, "--json").json() if e["kind"] == "conference"]

    [link] = links(mended)
    version = amina("show", mended, "--json").json()["plan"]["record_id"]
    minutes = minutes_doc(cases)
    minutes["cases"][0]["actions"][1]["timeline"] = "2027-02-20"
    replaced = one_commit(kenya.root, lambda: chair("conference", "update", conf, "--minutes", "-", "--reason",
                                                    "timeline mistyped", "--json", input=json.dumps(minutes)))
    said = replaced.json()
    [corrected] = said["corrected"]
    assert (corrected["case_id"], corrected["supersedes"]) == (mended, link["record_id"]), said
    assert git(kenya.root, "log", "-1", "--format=%s").strip() == f"conference update {conf} {said['record_id']}"
    assert [s for s in said["next_steps"] if s.startswith(f"{mended}: its plan keeps the actions")
            and f"cpcm correct {mended} {version} --set" in s], said["next_steps"]
    assert not [s for s in said["next_steps"] if s.startswith(f"{same}:")]

    shown = amina("show", mended, corrected["record_id"], "--json").json()
    assert shown["supersedes"] == link["record_id"] and f"the minutes of {conf} replaced" in shown["correction_reason"]
    assert [a["timeline"] for a in shown["fields"]["actions"]] == ["2026-12-15", "2027-02-20"]
    assert shown["fields"]["plan"] == version and shown["fields"]["decisions"] == ["Decision 1"]
    original = amina("show", mended, link["record_id"])
    assert f"CORRECTED by {corrected['record_id']}" in original.stdout, original.stdout
    assert "2027-02-20" in amina("show", mended, corrected["record_id"]).stdout
    case_file = amina("render", "case-file", mended)
    assert case_file.code == 0, case_file.stderr
    assert f"Corrected by record {corrected['record_id']}" in case_file.stdout
    assert f"Corrects record {link['record_id']}" in case_file.stdout and "20 February 2027" in case_file.stdout
    # corrected by replacing the minutes, as `cpcm correct` refuses it, saying so
    refused = sup("correct", mended, corrected["record_id"], "--set", "actions.1.timeline=2027-02-21", "--reason", "x", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "correction-not-supported", refused.stderr
    assert f"cpcm conference update {conf} --minutes FILE --reason TEXT" in refused.json()["hint"]
    # the plan keeps what closing copied into it
    plan = amina("show", mended, "--json").json()["plan"]
    assert plan["record_id"] == version and "2027-02-20" not in json.dumps(plan)
    # the case whose part did not change: its record as its close wrote it
    [kept] = links(same)
    assert not kept.get("superseded_by") and "2027-02-20" not in amina("show", same, kept["record_id"]).stdout
    assert "Zqxcanary" not in replaced.stdout + replaced.stderr
    verified = sup("verify", "--json")
    assert verified.code == 0 and verified.json() == [], verified.stdout


@pytest.mark.parametrize("text, allow_time, said", [
    ("2027-02-03T25:00", True, "the time after it is not a time of day (use HH:MM"),
    ("2027-02-03T10:61", True, "the time after it is not a time of day (use HH:MM"),
    ("2027-02-03T10:00+3", True, "the time after it is not a time of day (use HH:MM"),
    ("2027-02-30", True, "that month has no such day"),
    ("2027-02-30", False, "that month has no such day"),
    ("next week", True, "is not a date (use YYYY-MM-DD) or YYYY-MM-DDTHH:MM"),
    ("2027-02-03T9", True, "the time after it is not a time of day (use HH:MM"),
    ("3 Feb 2027 10:00", True, "is not a date (use YYYY-MM-DD) or YYYY-MM-DDTHH:MM"),
])
def test_date_text__a_wrong_time_is_blamed_on_the_time_and_a_date_time_is_offered_where_one_is_taken(text, allow_time, said):
    errors = []
    assert conferences._date_text(text, "date", errors, allow_time=allow_time) is None
    [error] = errors
    assert error.field == "date" and said in error.reason, error.reason
    assert ("no such day" in error.reason) == ("no such day" in said)
    assert ("YYYY-MM-DDTHH:MM" in error.reason) == (allow_time and "use YYYY-MM-DD)" in said)


def test_cli__a_conference_on_a_day_the_calendar_has_not_is_refused_saying_so(cli_as, repo):
    sup = cli_as("sup")
    before = commit_count(repo)
    for day, said in (("2027-02-30", "date: is not a date of the calendar"), ("next week", "is not a date (use YYYY-MM-DD) or YYYY-MM-DDTHH:MM")):
        refused = sup("conference", "new", "--kind", "internal", "--date", day, "--venue", "Meeting room")
        assert refused.code == 4 and said in refused.stderr, refused.stderr
    assert commit_count(repo) == before
