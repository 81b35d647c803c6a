"""The conference name guard (minutes hold case IDs, never names) matches names as names: a
name of two or more words in any case, a single word only written as a name (a capital first
letter). An ordinary word that is also a name ("amani", Kiswahili for peace) stays usable."""
from __future__ import annotations

import pytest

from cpcm.errors import Refused
from cpcm.service import conferences
from memory_repo import MemoryRepo
from test_conference import CLOSE_NOW, conference_in, minutes_doc

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
    assert "another conference" in refused.value.hint
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
