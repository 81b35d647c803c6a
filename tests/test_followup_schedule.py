"""The next follow-up, planned by the worker (inter-agency guidelines, Step 5 [L919]: how often
depends on the child's needs; the follow-up record holds the next follow-up date and the planned
frequency). Through the CLI, as a worker uses it: a frequency set at a follow-up puts the next one
on `cpcm due` and keeps doing so after each follow-up until it is changed or stopped; a date holds
for the next one only; `show` reads it back; a correction moves it; bad input changes nothing."""
from __future__ import annotations

from conftest import commit_count, register
from cpcm.workflow import followups

BASE = ("--method", "phone", "--purpose", "monitoring", "--visited-by", "professional", "--risk-increased", "no")


def next_followups(cli) -> list[dict]:
    return [i for i in cli("due", "--within", "60", "--json").json() if i["code"] == "next-followup"]


def test_a_frequency_puts_the_next_followup_on_due_after_every_followup_until_stopped(cli_as):
    amina = cli_as("amina")  # 2026-11-23 09:00 +03:00
    case_id = register(amina)
    assert next_followups(amina) == []
    first = amina("followup", case_id, *BASE, "--every", "2W", "--json")
    assert first.code == 0, first.stderr
    items = next_followups(amina)
    assert [(i["case_id"], i["due"][:16]) for i in items] == [(case_id, "2026-12-07T09:00")], items
    assert "every 2 weeks" in items[0]["why"] and f"cpcm followup {case_id}" in items[0]["why"]
    shown = amina("show", case_id)
    assert "follow-up" in shown.stdout and "every 2 weeks" in shown.stdout, shown.stdout
    assert amina("show", case_id, "--json").json()["followup_plan"]["every"] == "2w"  # written as a duration's text

    # a follow-up five days later, with no word on the next one: the frequency stays, counted from it
    later = cli_as("amina", CPCM_NOW="2026-11-28T10:00:00+03:00")
    assert later("followup", case_id, *BASE).code == 0
    assert [i["due"][:16] for i in next_followups(later)] == ["2026-12-12T10:00"]

    # a date for the next one: due at the end of that day; the frequency is kept for the ones after
    dated = later("followup", case_id, *BASE, "--next-followup", "2026-12-01")
    assert dated.code == 0, dated.stderr
    items = next_followups(later)
    assert [i["due"][:16] for i in items] == ["2026-12-01T23:59"] and "every 2 weeks" in items[0]["why"], items
    after = cli_as("amina", CPCM_NOW="2026-12-01T15:00:00+03:00")
    assert after("followup", case_id, *BASE).code == 0
    assert [i["due"][:16] for i in next_followups(after)] == ["2026-12-15T15:00"]

    # stopped: nothing more is due
    assert after("followup", case_id, *BASE, "--every", "none").code == 0
    assert next_followups(after) == []
    assert after("show", case_id, "--json").json()["followup_plan"]["every"] is None


def test_a_correction_of_the_frequency_moves_the_next_followup(cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    record_id = amina("followup", case_id, *BASE, "--every", "1mo", "--json").json()["record_id"]
    assert [i["due"][:10] for i in next_followups(amina)] == ["2026-12-23"]
    fixed = amina("correct", case_id, record_id, "--set", "followup_every=1w", "--reason", "weekly: a new placement")
    assert fixed.code == 0, fixed.stderr
    assert [i["due"][:10] for i in next_followups(amina)] == ["2026-11-30"]


def test_bad_plans_are_refused_naming_the_field_and_write_nothing(cli_as, repo):
    amina = cli_as("amina")
    case_id = register(amina)
    commits = commit_count(repo)
    for option, value, says in (("--every", "3h", "less than a day"), ("--every", "often", "is not a frequency: write days, weeks or months (1d, 2w, 1mo)"),
                                ("--next-followup", "2026-11-20", "is before this follow-up (2026-11-23)")):
        refused = amina("followup", case_id, *BASE, option, value)
        assert refused.code == 4, (option, value, refused.stderr)
        field = followups.EVERY if option == "--every" else followups.NEXT
        assert f"{option} ({field}): " in refused.stderr and says in refused.stderr, refused.stderr
    assert commit_count(repo) == commits
    assert next_followups(amina) == []


def test_pure__planned_and_due():
    from datetime import timezone

    plan = followups.planned(None, {}, "2026-11-23T06:00:00+00:00", "R1")
    assert plan is None  # a follow-up that plans nothing plans nothing
    plan = followups.planned(None, {"followup_every": "1w"}, "2026-11-23T06:00:00+00:00", "R1")
    assert followups.due(plan, "2026-11-23T06:00:00+00:00", timezone.utc).isoformat() == "2026-11-30T06:00:00+00:00"
    # a later follow-up of any kind counts the frequency from it, and meets a planned date
    assert followups.due(plan, "2026-11-25T06:00:00+00:00", timezone.utc).isoformat() == "2026-12-02T06:00:00+00:00"
    dated = followups.planned(None, {"next_followup": "2026-11-24"}, "2026-11-23T06:00:00+00:00", "R1")
    assert followups.due(dated, "2026-11-23T06:00:00+00:00", timezone.utc).isoformat() == "2026-11-24T23:59:59+00:00"
    assert followups.due(dated, "2026-11-24T08:00:00+00:00", timezone.utc) is None
    # a value written by hand that is not a frequency plans nothing rather than stopping the lists
    assert followups.due(dict(plan, every="Qvname"), None, timezone.utc) is None
    older = followups.planned(plan, {"followup_every": "none"}, "2026-11-22T06:00:00+00:00", "R0")
    assert older is plan  # a follow-up dated before the one that planned it changes nothing
    assert followups.every_problem("0d") and followups.every_problem("same_day") and not followups.every_problem("none")


def test_a_correction_to_a_plan_that_is_not_one_is_refused_and_due_show_check_still_work(cli_as, repo):
    amina = cli_as("amina")
    case_id = register(amina)
    record_id = amina("followup", case_id, *BASE, "--every", "1w", "--json").json()["record_id"]
    commits = commit_count(repo)
    for key, value in (("followup_every", "Qvtyped by mistake"), ("followup_every", "1h"), ("next_followup", "2026-11-01")):
        refused = amina("correct", case_id, record_id, "--set", f"{key}={value}", "--reason", "typo")
        assert refused.code == 4 and f"{key}: " in refused.stderr, refused.stderr
        assert "Qvtyped" not in refused.stderr
    assert commit_count(repo) == commits
    for command in (("due", "--within", "60"), ("show", case_id), ("check",)):
        assert amina(*command).code in (0, 1), command


def test_a_followup_dated_before_a_later_one_counts_from_the_later(cli_as):
    """A visit on 4 December, then one recorded dated 24 November that plans weekly follow-ups: the
    4 December visit already met the 1 December one, so the next is a week after it, not overdue."""
    late = cli_as("amina", CPCM_NOW="2026-12-04T10:00:00+03:00")
    case_id = register(cli_as("amina"))
    assert late("followup", case_id, *BASE).code == 0
    back = late("followup", case_id, *BASE, "--every", "1w", "--at", "2026-11-24T10:00:00+03:00")
    assert back.code == 0, back.stderr
    assert [i["due"][:16] for i in next_followups(late)] == ["2026-12-11T10:00"]
    assert not [i for i in late("due", "--overdue", "--json").json() if i["code"] == "next-followup"]


def test_a_followup_that_planned_the_next_is_corrected_after_the_case_closed(cli_as):
    """The plan a follow-up made stays as it was when another field of it is corrected after the
    case closed; a new plan in that correction is refused, as on a closed case."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    record_id = amina("followup", case_id, *BASE, "--every", "1mo", "--json").json()["record_id"]
    assert amina("close", case_id, "--reason", "registered_in_error", "--check", "all").code == 0
    assert sup("approve", case_id, "closure", "--note", "a duplicate").code == 0
    assert amina("show", case_id, "--json").json()["status"] == "closed"
    fixed = amina("correct", case_id, record_id, "--set", "visited_by=volunteer", "--reason", "it was the volunteer", "--json")
    assert fixed.code == 0, fixed.stderr
    changed = amina("correct", case_id, fixed.json()["record_id"], "--set", "followup_every=1w", "--reason", "weekly")
    assert changed.code == 4 and "followup_every: plans follow-ups of a closed case" in changed.stderr, changed.stderr
