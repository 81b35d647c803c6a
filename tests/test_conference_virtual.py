"""Virtual case conferences (Kenya case-conferencing SOP §8.1, §4 step 3): the platform, the
record keeper, whether the session is recorded (who holds the recording, or why there is none),
each case presented in writing before the agenda goes out; read back by `conference show`,
`--json` and the documents; corrected with `conference update`, after closing too. cpcm keeps no
recording and no link to one.

The walk and the refusals through the CLI, git and age (exit 4, the option named, nothing
written); the rules of the details over the memory repository and as a pure function."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, git
from cpcm import service
from cpcm.errors import Refused
from cpcm.service import conferences
from cpcm.workflow import conferences as rules
from memory_repo import MemoryRepo
from test_conference import (CLOSE_NOW, LATER, MEMBERS, conference_in, member, minutes_doc, one_commit, planned_case,
                             planned_in)

ONLINE = ("--virtual", "--platform", "Google Meet", "--record-keeper", "amina")


def virtual_conference(sup, *extra) -> str:
    result = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--notice-sent", "2026-11-23",
                 "--invitations-sent", "2026-11-23", "--json", *ONLINE, *extra)
    assert result.code == 0, result.stderr
    return result.json()["conference_id"]


def test_cli__a_virtual_conference_from_planning_to_its_report(cli, cli_as, repo):
    case_id = planned_case(cli, CANARY)
    sup = cli_as("sup")
    conf = virtual_conference(sup)
    shown = sup("conference", "show", conf, "--json").json()
    assert shown["virtual"] == {"platform": "Google Meet", "record_keeper": "amina"}
    assert any("conference_virtual.recording" in w and "not stated" in w for w in shown["warnings"]), shown["warnings"]
    text = sup("conference", "show", conf).stdout
    assert "virtual\tyes, on Google Meet" in text and "record keeper\tamina" in text and "recording\tnot stated yet" in text, text
    # a case nominated without a written presentation: warned, and the agenda refused until it has one (SOP §4 step 3)
    added = sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult")
    assert added.code == 0 and f"{case_id} has no written presentation" in added.stderr, added.stderr
    before = commit_count(repo)
    refused = sup("render", "agenda", conf, "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["rule"] == "conference-written-presentation"
    assert case_id in refused.stderr + refused.stdout and "--presentation" in refused.stderr + refused.stdout
    assert commit_count(repo) == before  # not even the render's record
    one_commit(repo, lambda: sup("conference", "update", conf, "--case", case_id, "--presentation",
                                 "Back at school since May; the family needs food support.", "--reason", "written for the meeting"))
    agenda = one_commit(repo, lambda: sup("render", "agenda", conf)).stdout
    assert "Virtual meeting, on:** Google Meet" in agenda and "Record keeper:** amina" in agenda
    assert "Recording:** not stated yet" in agenda
    # held: the minutes warn that the recording is not stated; the record keeper says why there is none
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "verbal").code == 0
    doc = dict(minutes_doc([case_id]))
    del doc["minute_taker"]  # the record keeper takes the minutes unless the minutes name another
    minuted = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(doc))
    assert minuted.code == 0 and "conference_virtual.recording" in minuted.stderr, minuted.stderr
    one_commit(repo, lambda: closer("conference", "update", conf, "--recorded", "no", "--not-recorded-reason",
                                    "two members joined by phone"))
    assert "two members joined by phone" not in git(repo, "log", "--format=%B")  # free text: in the encrypted record only
    assert "recording\tnot recorded: two members joined by phone" in closer("conference", "show", conf).stdout
    assert closer("conference", "close", conf).code == 0
    later = cli_as("sup", CPCM_NOW=LATER)
    for template in ("minutes", "conference-report"):
        for fmt in ("md", "html"):
            out = later("render", template, conf, "--format", fmt)
            assert out.code == 0, out.stderr
            assert "Google Meet" in out.stdout and "not recorded: two members joined by phone" in out.stdout, (template, fmt)
            assert "Zqxcanary" not in out.stdout
    assert "Minute-taker:** amina" in later("render", "minutes", conf).stdout
    assert "Mtunza kumbukumbu" in later("render", "minutes", conf, "--lang", "sw").stdout
    # corrected after closing, as the venue is: by the chair or a supervisor, with a reason
    before = commit_count(repo)
    no_reason = later("conference", "update", conf, "--recorded", "yes", "--recording-held-by", "Lead social worker", "--json")
    assert no_reason.code == 4 and any(e["field"] == "reason" for e in no_reason.json()["fields"]), no_reason.stdout
    assert commit_count(repo) == before
    one_commit(repo, lambda: later("conference", "update", conf, "--recorded", "yes", "--recording-held-by", "Lead social worker",
                                   "--reason", "the recording was found on the office laptop"))
    data = later("conference", "show", conf, "--json").json()
    assert data["virtual"] == {"platform": "Google Meet", "record_keeper": "amina", "recorded": True,
                               "recording_held_by": "Lead social worker"}
    assert data["updates"][-1]["previous"]["virtual"]["record_id"]  # the details replaced by their record, never their text
    report = later("render", "conference-report", conf).stdout
    assert "recorded; the recording is held by Lead social worker, outside cpcm" in report and "two members" not in report
    for path in (repo / "conferences" / conf).iterdir():
        assert b"Zqxcanary" not in path.read_bytes() and b"Google Meet" not in path.read_bytes()
    assert "Zqxcanary" not in git(repo, "log", "--format=%B")


@pytest.mark.parametrize("options, field, why", [
    (("--virtual", "--record-keeper", "amina"), "platform", "is required for a virtual conference"),
    (("--virtual", "--platform", "Zoom"), "record-keeper", "is required for a virtual conference"),
    (("--platform", "Zoom"), "platform", "add --virtual"),
    ((*ONLINE[:2], "https://meet.example.org/abc-defg-hij", *ONLINE[3:]), "platform", "holds a link"),
    ((*ONLINE[:2], "meet.example.org/abc-defg-hij", *ONLINE[3:]), "platform", "holds a link"),
    ((*ONLINE, "--recorded", "yes"), "recording-held-by", "is required with --recorded yes"),
    ((*ONLINE, "--recorded", "yes", "--recording-held-by", "www.example.org/recordings"), "recording-held-by", "holds a link"),
    ((*ONLINE, "--recorded", "no"), "not-recorded-reason", "is required with --recorded no"),
    ((*ONLINE, "--recorded", "maybe"), "recorded", "is not yes or no"),
    ((*ONLINE, "--recording-held-by", "Lead social worker"), "recording-held-by", "goes with --recorded yes"),
    ((*ONLINE, "--recorded", "yes", "--recording-held-by", "Lead", "--not-recorded-reason", "x"), "not-recorded-reason",
     "goes with --recorded no"),
])
def test_cli__new_virtual_refused_naming_the_option_and_nothing_written(cli_as, repo, options, field, why):
    sup = cli_as("sup")
    before = commit_count(repo)
    refused = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--json", *options)
    assert refused.code == 4, refused.stderr
    errors = refused.json()["fields"]
    assert any(e["field"] == field and why in e["reason"] for e in errors), errors
    assert commit_count(repo) == before
    assert not (repo / "conferences").exists() or not any((repo / "conferences").iterdir())


def test_cli__update_refuses_details_of_a_meeting_in_person_and_takes_one_off_line(cli, cli_as, repo):
    sup = cli_as("sup")
    in_person = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room", "--json")
    conf = in_person.json()["conference_id"]
    before = commit_count(repo)
    refused = sup("conference", "update", conf, "--not-recorded-reason", "no network", "--json")
    assert refused.code == 4 and refused.json()["fields"][0]["field"] == "not-recorded-reason", refused.stdout
    assert "add --virtual" in refused.json()["fields"][0]["reason"]
    assert commit_count(repo) == before
    # online after all, then in person again: the agenda of a meeting in person needs no written presentation
    case_id = planned_case(cli, "Test Child")
    one_commit(repo, lambda: sup("conference", "update", conf, *ONLINE))
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    assert sup("render", "agenda", conf).code == 4
    mixed = sup("conference", "update", conf, "--in-person", "--platform", "Zoom", "--json")
    assert mixed.code == 4 and mixed.json()["fields"][0]["field"] == "in-person"
    one_commit(repo, lambda: sup("conference", "update", conf, "--in-person"))
    assert sup("conference", "show", conf, "--json").json()["virtual"] is None
    assert "virtual: in person" in sup("conference", "show", conf).stdout
    agenda = sup("render", "agenda", conf)
    assert agenda.code == 0 and "Virtual meeting" not in agenda.stdout


# -- the rules, over the memory repository ------------------------------------------------------------
def test_virtual_details__a_childs_name_in_the_reason_is_refused_naming_the_field():
    mem = MemoryRepo()
    case_id = planned_in(mem, CANARY)
    sup = mem.as_("sup")
    conf = conference_in(sup, virtual={"virtual": True, "platform": "Zoom", "record_keeper": "amina"})
    conferences.add_case(sup, conf, case_id, "especially_difficult", "Back at school since May.")
    before = mem.commits()
    with pytest.raises(Refused) as named:
        conferences.update(sup, conf, {"virtual": {"recorded": "no", "not_recorded_reason": "Zqxcanary asked us not to"}})
    assert named.value.rule == "conference-no-names" and "virtual.not_recorded_reason" in named.value.message
    assert "Zqxcanary" not in named.value.message + (named.value.hint or "")
    assert mem.commits() == before


def test_virtual_details__a_name_already_in_the_details_stops_the_case_joining():
    mem = MemoryRepo()
    case_id = planned_in(mem, CANARY)
    sup = mem.as_("sup")
    conf = conference_in(sup, virtual={"virtual": True, "platform": "Zoom", "record_keeper": "Wbvmarker's aunt"})
    with pytest.raises(Refused) as named:
        conferences.add_case(sup, conf, case_id, "especially_difficult", "Back at school.")
    assert named.value.rule == "conference-no-names" and "virtual.record_keeper" in named.value.message


def test_virtual_details__a_name_written_by_one_who_cannot_read_the_case_stops_the_documents():
    """The chair, a caseworker who does not read amina's case, writes its child's name into why the
    session was not recorded: their guard cannot know it; the supervisor's render checks it again."""
    mem = MemoryRepo()
    case_id = planned_in(mem, CANARY)
    sup = mem.as_("sup")
    conf = conference_in(sup, chair="otieno", virtual={"virtual": True, "platform": "Zoom", "record_keeper": "otieno"})
    conferences.add_case(sup, conf, case_id, "especially_difficult", "Back at school since May.")
    conferences.update(mem.as_("otieno"), conf, {"virtual": {"recorded": "no", "not_recorded_reason": "Zqxcanary's request"}})
    before = mem.commits()
    with pytest.raises(Refused) as named:
        service.render(mem.as_("sup"), "agenda", conf)
    assert named.value.rule == "conference-no-names" and "virtual.not_recorded_reason" in named.value.message
    assert "--not-recorded-reason" in named.value.hint and "Zqxcanary" not in named.value.message + named.value.hint
    assert mem.commits() == before


def test_virtual__warned_at_minutes_and_close_while_a_case_has_no_written_presentation():
    mem = MemoryRepo()
    case_id = planned_in(mem)
    sup = mem.as_("sup")
    conf = conference_in(sup, virtual={"virtual": True, "platform": "Zoom", "record_keeper": "amina", "recorded": "yes",
                                       "recording_held_by": "Lead social worker"})
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    minuted = conferences.minutes(closer, conf, minutes_doc([case_id]))
    assert any(f"{case_id} has no written presentation" in w for w in minuted.warnings), minuted.warnings
    assert not any("conference_virtual.recording" in w for w in minuted.warnings)  # stated: recorded, and who holds it
    closed = conferences.close(closer, conf)  # the meeting was held: its actions still reach the plan
    assert any(f"{case_id} has no written presentation" in w for w in closed.warnings)
    # an agency that does not require them (policy data): no refusal of the agenda
    text = service.render(mem.as_("sup", now=LATER), "minutes", conf).text
    assert "Minute-taker:** Rotating member (case manager)" in text  # the minutes name another: they stand


def test_virtual__the_written_presentation_goes_out_with_the_agenda_and_the_minutes_as_it_stands():
    """conference.md, Replacing a presentation: the agenda, the minutes and the report use the
    text as it stands; the written presentation the rule asks for before the agenda goes out is
    printed in it (Form 1), by case ID, in both languages and formats."""
    mem = MemoryRepo()
    case_id = planned_in(mem)
    sup = mem.as_("sup")
    conf = conference_in(sup, virtual={"virtual": True, "platform": "Zoom", "record_keeper": "amina"})
    conferences.add_case(sup, conf, case_id, "reintegration_decision", presentation="Kinship care, a reunification question")
    for lang, heading in (("en", "Case presentation (Form 1)"), ("sw", "Uwasilishaji wa kesi (Fomu 1)")):
        for fmt in ("md", "html"):
            agenda = service.render(sup, "agenda", conf, lang=lang, fmt=fmt).text
            assert heading in agenda and "Kinship care, a reunification question" in agenda, (lang, fmt)
    conferences.update(sup, conf, {"presentation": (case_id, "School fees paid, tracing continues")}, reason="out of date")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc([case_id]))
    for template in ("agenda", "minutes"):
        for fmt in ("md", "html"):
            text = service.render(mem.as_("sup", now=LATER), template, conf, fmt=fmt).text
            assert "School fees paid, tracing continues" in text and "reunification question" not in text, (template, fmt)


def test_virtual__an_agency_may_turn_the_written_presentation_rule_off():
    from dataclasses import replace

    mem = MemoryRepo()
    case_id = planned_in(mem)
    sup = mem.as_("sup")
    conf = conference_in(sup, virtual={"virtual": True, "platform": "Zoom", "record_keeper": "amina"})
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    with pytest.raises(Refused):
        service.render(sup, "agenda", conf)
    rules_off = dict(mem.policy.rules, conference_virtual=dict(mem.policy.rules["conference_virtual"], written_presentations=False))
    mem.policy = replace(mem.policy, rules=rules_off)
    assert "Zoom" in service.render(mem.as_("sup"), "agenda", conf).text


# -- the details, pure --------------------------------------------------------------------------------
def test_virtual_details__a_new_answer_to_recorded_drops_what_went_with_the_old_one():
    current = {"platform": "Zoom", "record_keeper": "amina", "recorded": True, "recording_held_by": "Lead"}
    changed, errors = rules.virtual_details(current, {"recorded": False, "not_recorded_reason": "no network"})
    assert errors == [] and changed == {"platform": "Zoom", "record_keeper": "amina", "recorded": False,
                                        "not_recorded_reason": "no network"}
    same, errors = rules.virtual_details(current, {"platform": " Zoom "})
    assert errors == [] and same == current
    gone, errors = rules.virtual_details(current, {}, in_person=True)
    assert (gone, errors) == (None, [])
    nothing, errors = rules.virtual_details(None, {})
    assert (nothing, errors) == (None, [])
    _, errors = rules.virtual_details(current, {"platform": ""})  # the platform cannot be taken out of a virtual meeting
    assert [e.field for e in errors] == ["platform"]
