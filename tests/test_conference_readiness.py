"""After a case conference, the child's readiness for reintegration commented on (Kenya
case-conferencing SOP §4 step 7: the child assessment completed with a comment on readiness after
the meeting): in the kenya profile, each case the conference discussed has "readiness comment after
the case conference" on its worker's `cpcm due` from the close, within the policy's time, until a
readiness record (its notes the comment) or a comprehensive assessment with its readiness comment;
off in the inter-agency profile. The comment alone (a readiness record with occasion case_conference
and notes, no benchmarks) is a record; it is asked only for a child apart from their family
(placement.at_home: a child living with parents or relatives, never placed, is on no path
of reintegration)."""
from __future__ import annotations

import json

from test_assess_plan import COMPREHENSIVE
from test_conference import CLOSE_NOW, closed_through_cli, new_conference, planned_case
from test_readiness import answers, record


def readiness_items(cli) -> list[dict]:
    result = cli("due", "--within", "30", "--json")
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["code"] == "conference-readiness"]


def discussed(make, case_id: str) -> str:
    sup = make("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closed_through_cli(make("sup", CLOSE_NOW), conf, [case_id])
    return conf


def test_kenya__the_close_says_the_comment_is_on_due(kenya):
    case_id = planned_case(kenya("amina"), "Qvchild Told", lives_with="institution")
    sup = kenya("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = kenya("sup", CLOSE_NOW)
    from test_conference import MEMBERS, minutes_doc

    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    closed = closer("conference", "close", conf)
    assert closed.code == 0, closed.stderr
    assert "it is on their cpcm due within 7 days" in closed.stderr, closed.stderr
    assert f"the caseworker of {case_id} records the child's readiness" in closed.stderr, closed.stderr


def test_kenya__each_case_discussed_owes_a_readiness_comment_until_a_readiness_record(kenya):
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Conference", lives_with="institution")
    assert readiness_items(amina) == []
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    (item,) = readiness_items(after)
    assert item["case_id"] == case_id and item["owner"] == "amina" and item["due"] == "2026-12-07T13:00+03:00"
    assert "§4 step 7" in item["source"] and f"cpcm readiness {case_id} --occasion case_conference" in item["why"]
    done = record(after, case_id, {**answers(), "occasion": "case_conference", "notes": "settling well; ready in a month"})
    assert done.code == 0, done.stderr
    assert readiness_items(after) == []


def test_kenya__a_comprehensive_assessment_with_its_readiness_comment_meets_it_and_one_without_does_not(kenya):
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Assessed", lives_with="institution")
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    plain = after("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert plain.code == 0, plain.stderr
    assert len(readiness_items(after)) == 1
    commented = dict(COMPREHENSIVE, readiness_comment="attached to the aunt; school stable")
    assert after("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(commented)).code == 0
    assert readiness_items(after) == []


def test_inter_agency__no_readiness_comment_is_asked(cli, cli_as):
    """The inter-agency profile asks no readiness comment after a conference: `cpcm due` lists none,
    and `conference close` does not ask the caseworkers for one either."""
    case_id = planned_case(cli, "Qvchild Elsewhere", lives_with="institution")
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    from test_conference import MEMBERS, minutes_doc

    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    closed = closer("conference", "close", conf, "--json")
    assert closed.code == 0, closed.stderr
    assert not [s for s in closed.json()["next_steps"] if "readiness" in s], closed.json()["next_steps"]
    assert readiness_items(cli_as("amina", CPCM_NOW="2026-12-01T09:00:00+03:00")) == []


def test_kenya__a_conference_before_the_case_closed_asks_nothing_after_it_is_reopened(kenya):
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Reopened", lives_with="institution")
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert len(readiness_items(after)) == 1  # the test can fail
    assert after("close", case_id, "--reason", "registered_in_error", "--check", "all", "--explain-open", "a duplicate").code == 0
    assert kenya("sup", "2026-12-01T10:00:00+03:00")("approve", case_id, "closure", "--note", "a duplicate").code == 0
    later = kenya("amina", "2027-03-01T09:00:00+03:00")
    reopened = later("reopen", case_id, "--reason", "a new concern")
    assert reopened.code == 0, reopened.stderr
    assert readiness_items(later) == []


def test_kenya__a_comment_made_after_the_meeting_before_its_close_counts_and_the_item_names_the_meeting(kenya):
    """The meeting on 30 November, closed the next morning (Form 3 gives 24 hours): a readiness
    record made on the afternoon of the meeting answers it; without one, the item names the
    meeting's day, not the close's."""
    amina = kenya("amina")
    commented, silent = (planned_case(amina, "Qvchild Early", lives_with="institution"),
                         planned_case(amina, "Qvchild Late", lives_with="institution"))
    sup = kenya("sup")
    conf = new_conference(sup)  # meets on 2026-11-30
    for case_id in (commented, silent):
        assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    afternoon = kenya("amina", "2026-11-30T15:00:00+03:00")
    assert record(afternoon, commented, {**answers(), "occasion": "case_conference"}).code == 0
    closed_through_cli(kenya("sup", "2026-12-01T10:00:00+03:00"), conf, [commented, silent])
    items = readiness_items(kenya("amina", "2026-12-01T11:00:00+03:00"))
    assert [i["case_id"] for i in items] == [silent]
    assert "the case conference of 2026-11-30 discussed the case" in items[0]["why"], items[0]["why"]


# -- the comment alone, and for whom it is asked ---------------------------------------------------------------
def comment(cli, case_id: str, *extra: str, notes: str | None = "attached to the aunt; ready in a month"):
    doc = {"occasion": "case_conference", "consulted": ["child"], **({"notes": notes} if notes is not None else {})}
    return cli("readiness", case_id, "--from-file", "-", "--json", *extra, input=json.dumps(doc))


def test_kenya__the_comment_alone_from_a_file_is_recorded_and_settles_the_item_without_moving_the_stage(kenya):
    """The SOP's comment is free text with no scored threshold: occasion case_conference, who was
    consulted and the notes are a record; it settles the item, and the case stays planned."""
    from conftest import CANARY

    amina = kenya("amina")
    case_id = planned_case(amina, CANARY, lives_with="institution")
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert len(readiness_items(after)) == 1
    done = comment(after, case_id)
    assert done.code == 0, done.stderr
    assert done.json()["record_id"]
    assert readiness_items(after) == []
    shown = after("show", case_id, "--json").json()
    assert shown["stage"] == "planned", shown["stage"]
    assert shown["readiness"] is None  # a comment scores nothing: no readiness verdict made of it
    from pathlib import Path

    from conftest import git
    assert CANARY not in git(Path(after.env["CPCM_REPO"]), "log", "--format=%B")


def test_kenya__the_comment_on_the_command_line_is_recorded(kenya):
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Flags", lives_with="institution")
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    done = after("readiness", case_id, "--occasion", "case_conference", "--consulted", "child", "--notes", "settling well",
                 "--no-input")
    assert done.code == 0, done.stderr
    assert readiness_items(after) == []


def test_kenya__a_conference_record_without_notes_or_benchmarks_is_refused_and_other_occasions_still_need_benchmarks(kenya):
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Empty", lives_with="institution")
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    empty = comment(after, case_id, notes=None)
    assert empty.code == 4, empty.stderr
    assert "notes" in empty.stderr and "case conference" in empty.stderr, empty.stderr
    at_review = after("readiness", case_id, "--from-file", "-", input=json.dumps({"occasion": "review", "notes": "fine"}))
    assert at_review.code == 4 and "benchmarks" in at_review.stderr, at_review.stderr
    assert len(readiness_items(after)) == 1  # nothing was written


def test_kenya__a_comment_leaves_the_scored_readiness_and_its_stop_standing(kenya):
    """A stop answer (Protection 3.6: the child not free of violence) stays urgent after a comment
    alone: only a crisis follow-up or benchmarks answered without a stop clear it; the latest scored
    record stays the case's readiness."""
    amina = kenya("amina")
    case_id = planned_case(amina, "Qvchild Stopped", lives_with="institution")
    body = answers()
    body["benchmarks"]["protection"]["b3_child_free_of_violence"] = "no"
    scored = record(amina, case_id, body)
    assert scored.code == 0, scored.stderr
    discussed(kenya, case_id)
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert comment(after, case_id).code == 0
    shown = after("show", case_id, "--json").json()
    assert "readiness-stop" in {i["code"] for i in shown["due"]}, shown["due"]
    assert shown["readiness"]["record_id"] == scored.json()["record_id"], shown["readiness"]


def test_kenya__a_child_living_with_relatives_never_in_care_is_asked_no_readiness_comment(kenya):
    """SOP glossary: reintegration is a separated child's return to their family; §4 step 7's
    comment is on readiness for it. A child put on the conference for a protection concern at home
    (with relatives, never placed) is asked none; once placed in a CCI, the next conference asks it."""
    amina = kenya("amina")
    home = planned_case(amina, "Qvchild Home")  # lives with relatives
    sup = kenya("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, home, "--reason", "unresolved_protection_concern").code == 0
    closer = kenya("sup", CLOSE_NOW)
    from test_conference import MEMBERS, minutes_doc

    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([home]))).code == 0
    closed = closer("conference", "close", conf)
    assert closed.code == 0, closed.stderr
    assert "no readiness comment is asked" in closed.stderr, closed.stderr
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert readiness_items(after) == []
    placed = kenya("sup", "2026-12-01T09:00:00+03:00")("placement", home, "--care-type", "institutional_care",
                                                        "--institution", "Children's home", "--formal", "formal",
                                                        "--override-reason", "emergency removal", "--no-input")
    assert placed.code == 0, placed.stderr  # admitted to a CCI: apart from the family now
    assert len(readiness_items(after)) == 1


def test_kenya__the_close_names_a_child_at_home_beside_a_child_in_care(kenya):
    """conference.md: a child who lives with relatives and was never placed is asked none
    (`conference close` says so): said of that case by its ID where another case of the same
    conference is asked one, not only where none is."""
    amina = kenya("amina")
    cared = planned_case(amina, "Qvchild Cared", lives_with="institution")
    home = planned_case(amina, "Qvchild Kin")  # lives with relatives
    sup = kenya("sup")
    conf = new_conference(sup)
    for case_id, reason in ((cared, "especially_difficult"), (home, "reintegration_decision")):
        assert sup("conference", "add-case", conf, case_id, "--reason", reason).code == 0
    closer = kenya("sup", CLOSE_NOW)
    from test_conference import MEMBERS, minutes_doc

    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([cared, home]))).code == 0
    closed = closer("conference", "close", conf)
    assert closed.code == 0, closed.stderr
    assert f"the caseworker of {cared} records the child's readiness" in closed.stderr, closed.stderr
    assert f"no readiness comment is asked of {home}: " in closed.stderr and "relatives" in closed.stderr, closed.stderr
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert [i["case_id"] for i in readiness_items(after)] == [cared]  # what close says is what due asks


def test_kenya__a_child_registered_in_an_institution_and_gone_home_is_asked_the_comment(kenya):
    """conference.md: the comment is asked when the child is or has been apart from their family.
    A child registered living in an institution (a child admitted to a CCI, as
    conference_after_admission reads the registration) who went home to relatives by an update of
    the registration was read as "never placed" and asked none: the same registration read two ways."""
    amina = kenya("amina")
    home = planned_case(amina, "Qvchild Gone Home", lives_with="institution")
    updated = amina("update", home, "--set", "lives_with=relatives", "--reason", "went home to his aunt")
    assert updated.code == 0, updated.stderr
    sup = kenya("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, home, "--reason", "reintegration_decision").code == 0
    closer = kenya("sup", CLOSE_NOW)
    from test_conference import MEMBERS, minutes_doc

    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([home]))).code == 0
    closed = closer("conference", "close", conf)
    assert closed.code == 0, closed.stderr
    assert f"the caseworker of {home} records the child's readiness" in closed.stderr, closed.stderr
    after = kenya("amina", "2026-12-01T09:00:00+03:00")
    assert [i["case_id"] for i in readiness_items(after)] == [home]  # what close says is what due asks
