"""The conference name guard (minutes hold case IDs, never names) matches names as names: a
name of two or more words in any case, a single word only written as a name (a capital first
letter). An ordinary word that is also a name ("amani", Kiswahili for peace) stays usable."""
from __future__ import annotations

import json

import pytest

from cpcm.errors import Refused
from cpcm.service import conferences
from memory_repo import MemoryRepo
from test_conference import CLOSE_NOW, LATER, conference_in, in_one_commit, last_message, minutes_doc, warned

from cpcm.workflow.conferences import name_patterns, names_found

NAMES = ["Zqxcanary Wbvmarker", "Amani Otieno", None, "Shiro"]  # child, caregiver, other names, nickname


def found(text: str) -> bool:
    return bool(names_found({"discussion": text}, {"CP-TEST": name_patterns(NAMES)}))


@pytest.mark.parametrize("text", [
    "Amani Otieno came to the meeting.",        # the caregiver's full name
    "amani otieno came to the meeting.",        # the full name in lower case
    "AMANI  OTIENO came.",                      # capitals, two spaces
    "Amani came to the meeting.",               # the first name written as a name
    "Mama AMANI came.",                         # in capitals
    "Otieno agreed to the plan.",               # the surname written as a name
    "Shiro is doing better at school.",         # the nickname
    "Zqxcanary is doing better at school.",     # the child's first name
    "zqxcanary wbvmarker is doing better.",     # the child's full name in lower case
])
def test_names__are_found(text):
    assert found(text)


@pytest.mark.parametrize("text", [
    "Familia inaishi kwa amani sasa.",          # amani: peace
    "kuna amani nyumbani; otieno hakuja",       # single words in lower case are ordinary words
    "The family shiro dish was shared.",        # a one-word nickname in lower case
    "Amanifest and Otienos are other words.",   # only whole words
    "Nothing here names anyone.",
])
def test_ordinary_words__are_not_names(text):
    assert not found(text)


def test_names_found__names_the_field_and_the_case_never_the_name():
    hits = names_found({"cases": [{"discussion": "Amani Otieno agreed"}]}, {"CP-TEST": name_patterns(NAMES)})
    assert hits == ["cases[1].discussion (a name registered for CP-TEST)"]


def test_minutes__amani_as_a_word_is_accepted_the_caregivers_full_name_is_refused():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": "Zqxcanary Wbvmarker", "sex": "female", "date_of_birth": "2015-04-01",
                                         "disability": "no"},
                           caregiver={"name": "Amani Otieno", "relationship": "mother"})
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = "The caregiver Amani Otieno says the home is calm."
    before = mem.commits()
    at_meeting = mem.as_("sup", now=CLOSE_NOW)  # the minutes of a meeting that has started
    with pytest.raises(Refused) as refused:
        conferences.minutes(at_meeting, conf, doc)
    assert refused.value.rule == "conference-no-names" and "cases[1].discussion" in refused.value.message
    said = refused.value.message + (refused.value.hint or "")
    assert "Amani" not in said and "Otieno" not in said
    assert mem.commits() == before
    doc["cases"][0]["discussion"] = "Nyumbani kuna amani sasa; the caregiver says the home is calm."
    conferences.minutes(at_meeting, conf, doc)
    assert mem.commits() == before + 1


def test_nomination__a_presentation_naming_the_child_of_another_case_of_the_conference_is_refused():
    """Members read every presentation, whether or not they may open the case it names."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    first = mem.register(amina, child={"name": "Zqxcanary Wbvmarker", "sex": "female", "date_of_birth": "2015-04-01",
                                       "disability": "no"})
    second = mem.register(amina)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, first, "especially_difficult")
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.add_case(sup, conf, second, "especially_difficult", presentation="Zqxcanary Wbvmarker is her sister.")
    assert refused.value.rule == "conference-no-names" and f"a name registered for {first}" in refused.value.message
    assert "Zqxcanary" not in refused.value.message + (refused.value.hint or "")
    assert mem.commits() == before
    conferences.add_case(sup, conf, second, "especially_difficult", presentation="Her sister is on another case.")
    assert mem.commits() == before + 1



def test_nomination__a_case_whose_child_an_earlier_presentation_or_the_minutes_name_cannot_join():
    """A presentation (or the minutes) written before a case joined was checked against the cases
    of the conference then: one naming the child of a case nominated later went into the meeting
    documents with it. The case joining is refused, naming the field and the case, never the name."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    first = mem.register(amina)
    canary = mem.register(amina, child={"name": "Zqxcanary Wbvmarker", "sex": "female", "date_of_birth": "2015-04-01",
                                        "disability": "no"})
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, first, "especially_difficult", presentation="Zqxcanary Wbvmarker is her sister.")
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.add_case(sup, conf, canary, "especially_difficult")
    assert refused.value.rule == "conference-no-names"
    assert f"presentation of {first} (a name registered for {canary})" in refused.value.message
    assert f"cpcm conference update {conf} --case {first} --presentation TEXT --reason TEXT" in refused.value.hint
    assert "zqxcanary" not in (refused.value.message + (refused.value.hint or "")).lower()
    assert mem.commits() == before
    # minutes recorded before the case joined are checked too; recorded again without the name, the case joins
    other = conference_in(sup)
    conferences.add_case(sup, other, first, "especially_difficult")
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    doc = minutes_doc([first])
    doc["key_issues"] = "Zqxcanary is out of school too."
    conferences.minutes(at_meeting, other, doc)
    with pytest.raises(Refused) as minuted:
        conferences.add_case(at_meeting, other, canary, "especially_difficult")
    assert minuted.value.rule == "conference-no-names" and "minutes.key_issues" in minuted.value.message
    assert "cpcm conference minutes" in minuted.value.hint and "zqxcanary" not in minuted.value.message.lower()
    doc["key_issues"] = "Another child of the family is out of school too."
    conferences.minutes(at_meeting, other, doc)
    conferences.add_case(at_meeting, other, canary, "especially_difficult")


# -- a word of a name that is also a common word of the document's language ----------------------------
SWAHILI = ["Wanjiru Mtoto", "Amani Otieno"]  # the child (surname Mtoto: "child"), the caregiver


def found_in(text: str, names=SWAHILI, lang: str = "sw") -> bool:
    from cpcm.store import policies
    from cpcm.workflow.conferences import common_words

    common = common_words(policies.load("kenya"), lang)
    return bool(names_found({"discussion": text}, {"CP-TEST": name_patterns(names, common)}))


@pytest.mark.parametrize("text", [
    "Mtoto anaendelea vizuri shuleni.",         # "The child is doing well at school": the word, at a sentence's start
    "MTOTO ANAENDELEA VIZURI.",
    "Watoto wote wawili wako shuleni. Mtoto wa kwanza ana miaka 11.",
    "Mtoto anaishi kwa amani sasa.",            # amani: peace, a word of the caregiver's name, not of the child's
])
def test_kiswahili__mtoto_alone_is_the_word_child(text):
    """The name guard refused minutes holding the ordinary word 'Mtoto' (child) at the start of a
    sentence when a child's surname was Mtoto: in a Kiswahili repository almost every minute."""
    assert not found_in(text)


@pytest.mark.parametrize("text", [
    "Wanjiru Mtoto anaendelea vizuri.",         # the full name
    "wanjiru mtoto anaendelea vizuri.",         # in lower case
    "Mtoto Wanjiru anaendelea vizuri.",         # the other word of the name, written as a name
    "Mtoto anaendelea vizuri; wanjiru alisema hivyo.",  # the common word with another word of the name, in lower case
    "Wanjiru anaendelea vizuri.",               # the distinctive word alone, as a name
    "Amani Otieno alikuja.",                    # the caregiver, as before
])
def test_kiswahili__the_name_is_still_found(text):
    assert found_in(text)


def test_kiswahili__a_name_of_common_words_only_or_a_common_word_that_is_a_name_on_its_own_stays_a_name():
    """Privacy first: where nothing else would tell the name, the common word is read as one."""
    assert found_in("Mtoto anaendelea vizuri.", names=["Mama Mtoto"])           # every word of the name is a common word
    assert found_in("Mtoto anaendelea vizuri.", names=["Wanjiru Kamau", "Mtoto"])  # a one-word nickname
    assert found_in("Mtoto anaendelea vizuri.", names=["Wanjiru Mtoto", "Mtoto"])  # the word is also a name on its own
    assert not found_in("mtoto anaendelea vizuri.", names=["Mama Mtoto"])       # in lower case: a word, as always


def test_common_words__are_the_document_language_s_only():
    """A repository in English reads no Kiswahili common words: 'Mtoto' is read as a name there."""
    assert found_in("Mtoto anaendelea vizuri shuleni.", lang="en")
    assert found_in("Mtoto anaendelea vizuri shuleni.", lang=None)
    from cpcm.store import policies
    from cpcm.workflow.conferences import common_words

    assert "mtoto" in common_words(policies.load("inter-agency"), "sw")


def test_minutes__in_a_kiswahili_kenya_repository_mtoto_passes_the_child_s_name_is_refused(kenya):
    """Through the CLI, in a kenya-profile repository whose language is Kiswahili."""
    import json

    from conftest import commit_count, register
    from test_conference import new_conference

    sup, amina = kenya("sup"), kenya("amina")
    assert sup("config", "set", "language", "sw").code == 0
    case_id = register(amina, child={"name": "Wanjiru Mtoto", "sex": "female", "date_of_birth": "2015-04-01",
                                     "disability": "no"})
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    at_meeting = kenya("sup", now=CLOSE_NOW)
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = "Mtoto Wanjiru anaendelea vizuri shuleni."
    before = commit_count(kenya.root)
    refused = at_meeting("conference", "minutes", conf, "--from-file", "-", input=json.dumps(doc))
    assert refused.code == 4 and "cases[1].discussion" in refused.stderr and "Wanjiru" not in refused.stderr
    assert commit_count(kenya.root) == before
    doc["cases"][0]["discussion"] = "Mtoto anaendelea vizuri shuleni. Mtoto na mlezi walihudhuria."
    taken = at_meeting("conference", "minutes", conf, "--from-file", "-", input=json.dumps(doc))
    assert taken.code == 0, taken.stderr
    assert commit_count(kenya.root) == before + 1


def test_common_words__an_agency_sets_its_own_for_english_or_kiswahili():
    from cpcm.domain.profiles import build
    from cpcm.store import policies
    from cpcm.workflow.conferences import common_words

    policy, errors = build(policies.chain("kenya"), {"rules": {"conference_names": {"common_words": {"en": ["kid"]}}}},
                           ".cpcm/policy.yaml")
    assert not errors and common_words(policy, "en") == ("kid",) and "mtoto" in common_words(policy, "sw")
    patterns = name_patterns(["Wanjiru Kid"], common_words(policy, "en"))
    assert not names_found({"discussion": "Kid attends school."}, {"CP-TEST": patterns})
    assert names_found({"discussion": "Kid Wanjiru attends school."}, {"CP-TEST": patterns})
    _, wrong = build(policies.chain("kenya"), {"rules": {"conference_names": {"common_words": {"sw": "mtoto"}}}},
                     ".cpcm/policy.yaml")
    assert wrong  # a list, not a word


# -- a presentation replaced (conference update --case --presentation) ---------------------------------
CHILD = {"name": "Zqxcanary Wbvmarker", "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}


def unplanned_minutes(case_ids):
    """The minutes of cases without a plan yet: their actions start an interim plan (goal G1 only)."""
    doc = minutes_doc(case_ids)
    for entry in doc["cases"]:
        for action in entry["actions"]:
            action.pop("goal", None)
    return doc


def test_presentation__replaced_by_an_update_the_case_it_named_joins_and_the_report_prints_the_new_text():
    """A presentation naming the child of a case nominated later kept that case out for good (the
    hint could only say: another conference). `conference update --case --presentation --reason`
    replaces it: a new record, the name guard on the new text, one commit; the case then joins and
    the documents print the new text."""
    from cpcm import service
    from cpcm.errors import InvalidInput
    from test_conference import MEMBERS, member

    mem = MemoryRepo()
    amina = mem.as_("amina")
    first = mem.register(amina)
    canary = mem.register(amina, child=CHILD)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    nominated = conferences.add_case(sup, conf, first, "especially_difficult", presentation="Zqxcanary Wbvmarker is her sister.")
    before = mem.commits()
    with pytest.raises(InvalidInput) as unreasoned:  # a replacement says why
        conferences.update(sup, conf, {"presentation": (first, "Her sister is on another case.")})
    assert [e.field for e in unreasoned.value.errors] == ["reason"]
    with pytest.raises(InvalidInput) as elsewhere:  # only a case of the conference
        conferences.update(sup, conf, {"presentation": (canary, "Text")}, "wrong case")
    assert [e.field for e in elsewhere.value.errors] == ["case"]
    with pytest.raises(Refused) as named:  # the new text through the same guard: the caregiver of the case
        conferences.update(sup, conf, {"presentation": (first, "Test Caregiver came with her.")}, "named a sibling")
    assert named.value.rule == "conference-no-names"
    assert f"presentation of {first} (a name registered for {first})" in named.value.message
    assert "caregiver" not in (named.value.message + (named.value.hint or "")).lower()
    assert mem.commits() == before
    replaced = conferences.update(sup, conf, {"presentation": (first, "Her sister is on another case.")}, "named a sibling")
    assert mem.commits() == before + 1
    assert last_message(mem) == f"conference update {conf} {replaced.record_id}"
    assert replaced.extra == {"changed": ["presentation"], "case_id": first}
    shown = conferences.load(sup, conf)
    assert shown.cases[0]["presentation"] == "Her sister is on another case."
    update = shown.updates[-1]
    assert update["by"] == "sup" and update["reason"] == "named a sibling"
    # what it replaced is named by its record, never by its text (the name that had to go)
    assert update["previous"] == {"presentation": {"case_id": first, "record_id": nominated.record_id}}
    assert "Zqxcanary" not in json.dumps(shown.to_dict())
    with pytest.raises(Refused) as same:
        conferences.update(sup, conf, {"presentation": (first, "Her sister is on another case.")}, "again")
    assert same.value.rule == "nothing-to-update"
    conferences.add_case(sup, conf, canary, "especially_difficult")  # refused before the replacement
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(at_meeting, conf, member(institution, name, position))
    conferences.minutes(at_meeting, conf, unplanned_minutes([first, canary]))
    conferences.close(at_meeting, conf)
    report = service.render(at_meeting, "conference-report", conf).text
    assert "Her sister is on another case." in report and "Zqxcanary" not in report


def test_presentation__replaced_after_closing_nothing_else_is():
    """The report is rendered after closing: its presentations (and its venue and minutes) can
    still be replaced, nothing else."""
    from test_conference import MEMBERS, member

    mem = MemoryRepo()
    case_id = mem.register(mem.as_("amina"))
    sup = mem.as_("sup", now=CLOSE_NOW)
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult", presentation="First text.")
    for institution, name, position in MEMBERS:
        conferences.attend(sup, conf, member(institution, name, position))
    conferences.minutes(sup, conf, unplanned_minutes([case_id]))
    conferences.close(sup, conf)
    with pytest.raises(Refused) as closed:
        conferences.update(sup, conf, {"notice_sent": "2026-11-24", "presentation": (case_id, "Second text.")}, "moved")
    assert closed.value.rule == "conference-closed"
    in_one_commit(mem, lambda: conferences.update(sup, conf, {"presentation": (case_id, "")}, "not for the report"))
    assert "presentation" not in conferences.load(sup, conf).cases[0]


def test_presentation__replaced_by_the_chair_a_supervisor_or_the_case_s_worker_not_another_worker():
    mem = MemoryRepo()
    amina, otieno = mem.as_("amina"), mem.as_("otieno")
    hers, his = mem.register(amina), mem.register(otieno)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, hers, "especially_difficult", presentation="Her text.")
    conferences.add_case(sup, conf, his, "especially_difficult", presentation="His text.")
    before = mem.commits()
    with pytest.raises(Refused) as not_his:
        conferences.update(otieno, conf, {"presentation": (hers, "Another text.")}, "mine now")
    assert not_his.value.rule == "conference-presentation-not-yours" and mem.commits() == before
    in_one_commit(mem, lambda: conferences.update(otieno, conf, {"presentation": (his, "His new text.")}, "shorter"))
    in_one_commit(mem, lambda: conferences.update(amina, conf, {"presentation": (hers, "Her new text.")}, "shorter"))


# -- every presentation against every case its reader can read ------------------------------------------
def _written_by_a_worker_who_cannot_read_the_child(mem: MemoryRepo):
    """otieno chairs; amina's case (the canary child, which otieno cannot read) is nominated first;
    otieno then nominates his own case with a presentation naming amina's child: the guard knew
    only the names of the cases otieno reads."""
    amina, otieno = mem.as_("amina"), mem.as_("otieno")
    canary = mem.register(amina, child=CHILD)
    his = mem.register(otieno)
    sup = mem.as_("sup")
    conf = conference_in(sup, chair="otieno")
    conferences.add_case(sup, conf, canary, "especially_difficult")
    conferences.add_case(otieno, conf, his, "especially_difficult", presentation="Zqxcanary Wbvmarker stays with them.")
    return conf, canary, his


def test_presentations__a_name_its_writer_could_not_read_is_refused_at_minutes_closing_and_every_document():
    from cpcm import service
    from test_conference import MEMBERS, member

    mem = MemoryRepo()
    conf, canary, his = _written_by_a_worker_who_cannot_read_the_child(mem)
    sup = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(sup, conf, member(institution, name, position))
    before = mem.commits()
    refusals = []
    with pytest.raises(Refused) as minuted:
        conferences.minutes(sup, conf, unplanned_minutes([canary, his]))
    refusals.append(minuted.value)
    for template in ("agenda",):
        with pytest.raises(Refused) as rendered:
            service.render(sup, template, conf)
        refusals.append(rendered.value)
    assert mem.commits() == before
    for refused in refusals:
        assert refused.rule == "conference-no-names"
        assert f"presentation of {his} (a name registered for {canary})" in refused.message
        assert f"cpcm conference update {conf} --case {his} --presentation TEXT --reason TEXT" in refused.hint
        assert "zqxcanary" not in (refused.message + refused.hint).lower() and "wbvmarker" not in refused.message.lower()
    # the minutes recorded by the chair (who cannot read the child's case) are taken; closing and the documents are not
    otieno = mem.as_("otieno", now=CLOSE_NOW)
    taken = conferences.minutes(otieno, conf, unplanned_minutes([canary, his]))
    assert f"{canary}: you (otieno) cannot read this case, so the meeting's documents were not checked here" in warned(taken)
    for attempt in (lambda: conferences.close(sup, conf), lambda: service.render(sup, "minutes", conf),
                    lambda: service.render(sup, "conference-report", conf)):
        with pytest.raises(Refused) as refused:
            attempt()
        assert refused.value.rule == "conference-no-names" and f"presentation of {his}" in refused.value.message
    assert conferences.load(sup, conf).closed_at is None
    agenda = service.render(otieno, "agenda", conf)  # the chair is told what was not checked
    assert any(w.startswith(f"{canary}: you (otieno) cannot read this case") for w in agenda.warnings)
    conferences.update(otieno, conf, {"presentation": (his, "A relative of another case stays with them.")}, "named a child")
    conferences.close(sup, conf)
    report = service.render(sup, "conference-report", conf)
    assert "A relative of another case stays with them." in report.text and "Zqxcanary" not in report.text
    assert not report.warnings


def test_presentation__one_an_update_wrote_and_a_later_one_replaced_is_shown_by_its_record_only():
    """A presentation written through an update by a worker who cannot read the child it names,
    then replaced: `conference show` (and --json) names the replaced one by its record, never by
    its text, as it does a replaced venue or minutes."""
    import json

    mem = MemoryRepo()
    conf, canary, his = _written_by_a_worker_who_cannot_read_the_child(mem)
    otieno = mem.as_("otieno")
    conferences.update(otieno, conf, {"presentation": (his, "Wbvmarker Zqxcanary came on Monday.")}, "shorter")
    last = conferences.update(otieno, conf, {"presentation": (his, "A relative of another case came.")}, "named a child")
    shown = conferences.load(mem.as_("sup"), conf)
    assert "zqxcanary" not in json.dumps(shown.to_dict()).lower()
    first, second = [u["changes"]["presentation"] for u in shown.updates]
    assert first["replaced"] is True and first["case_id"] == his and "text" not in first
    assert second == {"case_id": his, "text": "A relative of another case came."}
    assert shown.cases[1]["presentation_record"] == last.record_id


def test_minutes_and_venue__a_name_their_writer_could_not_read_is_refused_at_closing_and_every_document():
    """The chair cannot read one case of the conference: minutes and a venue naming its child are
    taken from him (he is told they were not checked for that case), but closing and rendering by
    a supervisor, who reads every case, are refused, naming the field and the case and what mends
    it, never the name; once mended, they go ahead."""
    from cpcm import service
    from test_conference import MEMBERS, member

    mem = MemoryRepo()
    conf, canary, his = _written_by_a_worker_who_cannot_read_the_child(mem)
    sup, otieno = mem.as_("sup", now=CLOSE_NOW), mem.as_("otieno", now=CLOSE_NOW)
    conferences.update(otieno, conf, {"presentation": (his, "A relative of another case stays with them.")}, "named a child")
    for institution, name, position in MEMBERS:
        conferences.attend(sup, conf, member(institution, name, position))
    doc = unplanned_minutes([canary, his])
    doc["cases"][1]["discussion"] = "Zqxcanary visits on Sundays."
    taken = conferences.minutes(otieno, conf, doc)
    assert f"{canary}: you (otieno) cannot read this case" in warned(taken)
    before = mem.commits()
    for attempt in (lambda: conferences.close(sup, conf), lambda: service.render(sup, "minutes", conf)):
        with pytest.raises(Refused) as refused:
            attempt()
        assert refused.value.rule == "conference-no-names"
        assert f"minutes.cases[2].discussion (a name registered for {canary})" in refused.value.message
        assert f"cpcm conference minutes {conf} --from-file F" in refused.value.hint
        assert "zqxcanary" not in (refused.value.message + refused.value.hint).lower()
    assert mem.commits() == before
    doc["cases"][1]["discussion"] = "The family visits on Sundays."
    conferences.minutes(otieno, conf, doc)
    conferences.update(otieno, conf, {"venue": "Zqxcanary's home"})  # the chair's own check cannot see that name
    with pytest.raises(Refused) as venue:
        service.render(sup, "agenda", conf)
    assert f"venue (a name registered for {canary})" in venue.value.message
    assert f"cpcm conference update {conf} --venue TEXT" in venue.value.hint and "zqxcanary" not in venue.value.message.lower()
    conferences.update(otieno, conf, {"venue": "the office meeting room"})
    conferences.close(sup, conf)
    assert "Zqxcanary" not in service.render(sup, "conference-report", conf).text


def test_cli__a_conference_closed_with_a_name_in_its_minutes_and_venue_is_mended_by_update(cli_as, repo, tmp_env, monkeypatch):
    """A conference closed before its minutes and venue were checked again at closing (the chair,
    who cannot read the child's case, wrote the child's name in them) could not be rendered any
    more, and minutes are refused once it is closed: nothing mended it. `conference update
    --minutes FILE --reason` and `--venue --reason` do, after closing, by the chair or a supervisor:
    each one commit through the name guard, named in `show` by the record replaced; render works."""
    from conftest import CANARY, commit_count, git, register
    from test_conference import MEMBERS, new_conference
    from test_privacy import files_with_marker, git_objects, leaks

    run = _Said()
    outputs = run.outputs

    amina, otieno = cli_as("amina"), cli_as("otieno", CPCM_NOW=CLOSE_NOW)
    canary = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    his = register(otieno)
    sup = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    conf = new_conference(sup, "--chair", "otieno")
    run(sup, "conference", "add-case", conf, canary, "--reason", "especially_difficult")
    run(otieno, "conference", "add-case", conf, his, "--reason", "especially_difficult")
    for institution, name, position in MEMBERS:
        run(sup, "conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
            "--contact", "0700 000000", "--confidentiality-signed", "yes")
    named = unplanned_minutes([canary, his])
    named["cases"][1]["discussion"] = f"{CANARY} visits on Sundays."
    run(otieno, "conference", "minutes", conf, "--from-file", "-", input=json.dumps(named))  # he cannot read her case: warned
    run(otieno, "conference", "update", conf, "--venue", f"{CANARY.split()[0]}'s home")
    with monkeypatch.context() as older:  # closed as older cpcm closed it: the minutes and the venue were not checked again
        older.setattr(conferences, "_check_documents", lambda *args, **kwargs: [])
        run(sup, "conference", "close", conf)
    later = cli_as("sup", CPCM_NOW=LATER)
    before = commit_count(repo)
    refused = run(later, "render", "minutes", conf, code=4)
    assert f"minutes.cases[2].discussion (a name registered for {canary})" in refused.stderr, refused.stderr
    assert f"venue (a name registered for {canary})" in refused.stderr
    assert f"cpcm conference update {conf} --minutes FILE --reason TEXT" in refused.stderr
    assert f"cpcm conference update {conf} --venue TEXT --reason TEXT" in refused.stderr
    assert f"cpcm conference minutes {conf}" not in refused.stderr  # refused once closed
    again = run(later, "conference", "minutes", conf, "--from-file", "-", input=json.dumps(named), code=4)
    assert "is closed" in again.stderr and f"cpcm conference update {conf} --minutes FILE --reason TEXT" in again.stderr
    # the replacement goes through the guard; it needs a reason; the chair or a supervisor gives it
    named["cases"][1]["discussion"] = f"{CANARY} visits on Saturdays."
    still = run(later, "conference", "update", conf, "--minutes", "-", "--reason", "named a child", input=json.dumps(named), code=4)
    assert f"minutes.cases[2].discussion (a name registered for {canary})" in still.stderr
    mended = unplanned_minutes([canary, his])
    mended["cases"][1]["discussion"] = "The family visits on Sundays."
    no_reason = run(later, "conference", "update", conf, "--minutes", "-", "--json", input=json.dumps(mended), code=4)
    assert no_reason.json()["fields"][0]["field"] == "reason"
    not_chair = run(cli_as("amina", CPCM_NOW=LATER), "conference", "update", conf, "--minutes", "-", "--reason", "named a child",
                    "--json", input=json.dumps(mended), code=4)
    assert not_chair.json()["rule"] == "conference-not-chair", not_chair.stdout
    assert commit_count(repo) == before
    replaced = run(later, "conference", "update", conf, "--minutes", "-", "--reason", "named a child", "--json",
                   input=json.dumps(mended))
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference update {conf} {replaced.json()['record_id']}"
    venue_only = run(later, "render", "minutes", conf, code=4)
    assert "minutes.cases" not in venue_only.stderr and "venue (a name" in venue_only.stderr
    run(later, "conference", "update", conf, "--venue", "the office meeting room", code=4)  # a closed one's: with a reason
    run(later, "conference", "update", conf, "--venue", "the office meeting room", "--reason", "named a family's home")
    assert commit_count(repo) == before + 2
    shown = run(later, "conference", "show", conf).stdout
    assert "minutes: replaced (was " in shown and "venue: replaced (was " in shown, shown
    printed = run(later, "render", "minutes", conf).stdout
    assert "The family visits on Sundays." in printed and "the office meeting room" in printed
    run(later, "render", "conference-report", conf)
    run(later, "conference", "show", conf, "--json")
    for output in outputs:
        assert not leaks(output.encode()), output
    assert not leaks(git(repo, "log", "--all", "--format=%B").encode())
    assert not files_with_marker(repo) and not files_with_marker(tmp_env / "tmp")
    assert not leaks(git_objects(repo))


class _Said:
    """`run(who, *args)`: a command run through the CLI fixture `who`, its exit code checked (`code`),
    and everything it printed kept in `outputs` (to look for the name in afterwards)."""

    def __init__(self):
        self.outputs: list[str] = []

    def __call__(self, who, *args, code=0, input=None):
        result = who(*args, input=input)
        self.outputs.append(result.stdout + result.stderr)
        assert result.code == code, (args, result.stderr)
        return result


def test_cli__a_presentation_checked_and_replaced_the_child_s_name_nowhere_in_output_commits_or_files(cli_as, repo, tmp_env):
    """End to end, with the canary name: a caseworker chairing writes the name of a child he cannot
    read into his case's presentation; the supervisor's minutes and agenda are refused (exit 4), a
    replacement holding a word of the name too; the replacement without it is one commit, and the
    report prints it. The name is in no output, commit message, file or git object in plaintext."""
    from conftest import CANARY, commit_count, git, register
    from test_conference import MEMBERS, new_conference
    from test_privacy import files_with_marker, git_objects, leaks

    run = _Said()
    outputs = run.outputs

    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    canary = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    his = register(otieno)
    conf = new_conference(sup, "--chair", "otieno")
    run(sup, "conference", "add-case", conf, canary, "--reason", "especially_difficult")
    run(otieno, "conference", "add-case", conf, his, "--reason", "especially_difficult",
        "--presentation", f"{CANARY} stays with them.")  # otieno cannot read the child's case: the guard did not know the name
    at = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        run(at, "conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
            "--contact", "0700 000000", "--confidentiality-signed", "yes")
    minutes = json.dumps(unplanned_minutes([canary, his]))
    before = commit_count(repo)
    refused = [run(at, "conference", "minutes", conf, "--from-file", "-", input=minutes, code=4),
               run(at, "render", "agenda", conf, code=4),
               run(at, "conference", "update", conf, "--case", his, "--presentation", f"{CANARY.split()[1]} stays with them.",
                   "--reason", "named a child", code=4)]
    for result in refused:
        assert f"presentation of {his} (a name registered for {canary})" in result.stderr, result.stderr
    assert f"cpcm conference update {conf} --case {his} --presentation TEXT --reason TEXT" in refused[0].stderr
    assert commit_count(repo) == before
    run(at, "conference", "update", conf, "--case", his, "--reason", "named a child", code=2)  # --case needs --presentation
    updated = run(at, "conference", "update", conf, "--case", his, "--presentation", "A relative stays with them.",
                  "--reason", "named a child", "--json")
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference update {conf} {updated.json()['record_id']}"
    shown = run(at, "conference", "show", conf).stdout
    assert f"presentation of {his}: replaced (was " in shown
    run(at, "conference", "show", conf, "--json")
    run(at, "conference", "minutes", conf, "--from-file", "-", input=minutes)
    run(at, "conference", "close", conf)
    report = run(cli_as("sup", CPCM_NOW=LATER), "render", "conference-report", conf).stdout
    assert "A relative stays with them." in report
    run(otieno, "render", "agenda", conf)
    for output in outputs:
        assert not leaks(output.encode()), output
    assert not leaks(git(repo, "log", "--all", "--format=%B").encode())
    assert not files_with_marker(repo) and not files_with_marker(tmp_env / "tmp")
    assert not leaks(git_objects(repo))


# -- a caregiver that is an institution (a child in a CCI) ------------------------------------------------
def test_institution_caregiver__its_staff_are_professionals_its_words_usable_a_family_still_hidden():
    """A child in a CCI registered with the caregiver "Tumaini CCI staff" (relationship
    institution): the CCI's case manager recorded at the conference (institution "Tumaini CH") was
    taken for family (its word "Tumaini" is a word of the caregiver's name): kept off the Form 5
    register, counted and not named in the minutes; the presentation "in the CCI" and the venue
    "Tumaini boardroom" were refused. The institution is matched only whole now; a real family
    member, by name, phone or an institution naming them, is still counted and never named."""
    from cpcm import service
    from test_conference import MEMBERS, member

    mem = MemoryRepo()
    amina = mem.as_("amina")
    cci = mem.register(amina, lives_with="institution", caregiver={"name": "Tumaini CCI staff", "relationship": "institution"})
    home = mem.register(amina, caregiver={"name": "Zqmother Wbvfamily", "relationship": "mother"}, contact="0722 333444")
    sup = mem.as_("sup")
    conf = conference_in(sup, venue="Tumaini boardroom")
    conferences.add_case(sup, conf, cci, "especially_difficult", presentation="Settled in the CCI; the Tumaini staff report progress.")
    conferences.add_case(sup, conf, home, "especially_difficult")
    with pytest.raises(Refused) as whole:  # the institution's registered name, whole, is still refused
        conferences.update(sup, conf, {"venue": "the tumaini  CCI staff room"})
    assert f"venue (a name registered for {cci})" in whole.value.message
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS[:4]:
        conferences.attend(closer, conf, member(institution, name, position))
    staff = conferences.attend(closer, conf, member("Tumaini CH", "Wanjiru K", "Case manager"))
    assert staff.extra["signed_now"] is True
    # recorded under the caregiver institution's own name, as its staff write it: a professional too
    named_as_registered = conferences.attend(closer, conf, member("Tumaini CCI staff", "John Kamau", "social worker"))
    assert named_as_registered.extra["signed_now"] is True
    family = [conferences.attend(closer, conf, member("Community", "Zqmother", "parent")),
              conferences.attend(closer, conf, dict(member("Self", "Neighbour", "relative"), contact="0722333444")),
              conferences.attend(closer, conf, member("Family of Wbvfamily", "Officer Six", "relative"))]
    assert [w.extra["signed_now"] for w in family] == [False, False, False]
    register = [r["name"] for r in conferences.register_list(closer)]
    assert "Wanjiru K" in register and "John Kamau" in register and "Zqmother" not in register and "Neighbour" not in register
    doc = minutes_doc([cci, home])
    doc["cases"][1]["discussion"] = "Wbvfamily agreed to the plan."
    with pytest.raises(Refused) as named:  # the family's names are refused as before
        conferences.minutes(closer, conf, doc)
    assert "cases[2].discussion" in named.value.message
    conferences.minutes(closer, conf, minutes_doc([cci, home]))
    text = service.render(closer, "minutes", conf).text
    assert "Wanjiru K" in text and "Tumaini CH" in text
    assert "Children and family members present: 3 (not named here)" in text
    assert "Zqmother" not in text and "Wbvfamily" not in text and "0722" not in text and "Neighbour" not in text


def test_institution_caregiver__told_by_its_relationship_or_name_a_person_s_name_stays_a_name():
    """`client_names` marks a caregiver that is an institution (its whole relationship one of the
    policy's institution_relationships) so the guard matches it only whole; a person's name stays
    matched word by word, a family member's whose relationship or name holds an institution's word
    too ("foster home", "mother (at the shelter)"), and so does the institution's where the same
    name is also a person's."""
    from cpcm.domain.case import Case
    from cpcm.store import policies
    from cpcm.workflow.conferences import client_names, institution_relationships

    words = institution_relationships(policies.load("kenya"))

    def names(caregiver: str, relationship: str, placed: str | None = None):
        placements = ({"caregiver_name": placed, "caregiver_relationship": "grandmother"},) if placed else ()
        case = Case("CP-TEST", child={"name": "Zqxcanary Wbvmarker"}, caregiver_name=caregiver,
                    registration={"caregiver": {"name": caregiver, "relationship": relationship}}, placements=placements)
        return name_patterns(client_names(case, [], words)[0])

    def refused(patterns, text):
        return bool(names_found({"venue": text}, {"CP-TEST": patterns}))

    by_relationship, staff = names("Tumaini Otieno", "institution"), names("Tumaini CCI staff", "CCI Staff")
    for patterns in (by_relationship, staff):
        assert not refused(patterns, "Tumaini boardroom") and refused(patterns, "Zqxcanary's room")
    assert refused(by_relationship, "tumaini otieno's office") and refused(staff, "the Tumaini CCI staff room")
    assert not refused(staff, "Settled in the CCI")
    person = names("Tumaini Otieno", "aunt")
    assert refused(person, "Tumaini boardroom") and refused(person, "Otieno's office")
    # a family member whose relationship holds an institution's word, or whose name does, stays a person: word by word
    for caregiver, relationship in (("Jane Wanjiru", "foster home"), ("Grace Wanjiru", "mother (at Tumaini shelter)"),
                                    ("Akinyi Staff", "grandmother, works from home"), ("Tumaini Children's Home", "other")):
        assert refused(names(caregiver, relationship), f"{caregiver.split()[0]} attended"), (caregiver, relationship)
    also_placed = names("Tumaini Otieno", "institution", placed="Tumaini Otieno")  # privacy first: a person's name too
    assert refused(also_placed, "Tumaini boardroom")
    unmarked = Case("CP-TEST", caregiver_name="Tumaini CCI staff",
                    registration={"caregiver": {"name": "Tumaini CCI staff", "relationship": "institution"}})
    assert refused(name_patterns(client_names(unmarked, [])[0]), "in the CCI")  # without the words: word by word, as before


def test_attend__an_institution_holding_a_common_word_of_a_caregiver_s_name_alone_is_a_professional_s():
    """At `attend` the institution and position are read as the minutes' check reads a text, with
    the common words of the documents' language: a caregiver whose surname is Family does not make
    "Family Health Options" family; the same institution with another word of the name does."""
    from test_conference import member

    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, caregiver={"name": "Zqmother Family", "relationship": "mother"})
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    assert conferences.attend(closer, conf, member("Family Health Options", "Officer One", "Nurse")).extra["signed_now"] is True
    assert conferences.attend(closer, conf, member("Family of Zqmother", "Officer Two", "relative")).extra["signed_now"] is False
