"""The Kenya case-conferencing SOP's Form 8 (sample case conferencing report, SOP L2002-2084) as
`cpcm render conference-report` prints it from what cpcm holds, through the CLI: Part I per case
(unique ID and the meeting's date, date opened, location as district/ward/village, caseworker,
sex/age band/care arrangement, primary vulnerabilities, the plan's actions with their status,
successes and challenges to date), Part II per case (ongoing issues, bottlenecks, recommended
actions with responsible, timeline and resources, summary notes) and the chair's name and title;
blanks where cpcm has nothing; minutes written before the Form 8 fields still render; no name."""
from __future__ import annotations

import json
from html import unescape

import pytest

from conftest import CANARY, REVIEW, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_conference import CLOSE_NOW, LATER, MEMBERS, minutes_doc, new_conference


def planned(kenya, name: str, **registration) -> str:
    """A kenya case registered by amina (named `name`), assessed, its plan approved by sup."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, child={"name": name, "sex": "female", "date_of_birth": "2014-04-01", "disability": "no"},
                       **registration)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    return case_id


def held(kenya, case_ids, minutes: dict) -> str:
    """A kenya internal conference of `case_ids`, attended, minuted with `minutes`, closed."""
    sup = kenya("sup")
    conf = new_conference(sup)
    for case_id in case_ids:
        assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = kenya("sup", CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    recorded = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes))
    assert recorded.code == 0, recorded.stderr
    assert closer("conference", "close", conf).code == 0
    return conf


FORM8 = {"bottlenecks": "The bursary office asks for a birth certificate first.",
         "successes": "Back in school since October.", "challenges": "Food runs short at the end of the month."}


def test_render__form8_every_item_from_what_cpcm_holds_and_blanks_where_it_has_nothing(kenya):
    first = planned(kenya, CANARY, location="Kanyakwar, Nyalenda B, Kisumu East", case_categories=["neglect", "child_out_of_school"])
    second = planned(kenya, "Yqwother Child", location="Nyalenda", concerns=["child_labour"])
    amina = kenya("amina")
    assert amina("review", first, "--from-file", "-",
                 input=json.dumps(dict(REVIEW, progress=[{"item": "A1", "status": "done"}]))).code == 0
    minutes = minutes_doc([first, second])
    minutes["cases"][0].update(FORM8)
    minutes["cases"][0]["actions"][0]["resources"] = "Bursary form, transport"
    conf = held(kenya, [first, second], minutes)
    for fmt in ("md", "html"):
        report = kenya("sup", LATER)("render", "conference-report", conf, "--format", fmt)
        assert report.code == 0, report.stderr
        text = report.stdout
        assert "Zqxcanary" not in text and "Wbvmarker" not in text and "Yqwother" not in text and "Test Caregiver" not in text
        # the chair's name and title (her role in the team); the caseworker
        assert ("**Chair/facilitator:** sup, Supervisor" if fmt == "md" else "</strong> sup, Supervisor</li>") in text
        assert ("**Caseworker:** amina" if fmt == "md" else "<th>Caseworker</th><td>amina</td>") in text
        one, two = text.split(f"{first}, 30 November 2026")[1], text.split(f"{second}, 30 November 2026")[1]
        one, two = one.split(second)[0], two.split("Part II")[0]
        # Part I, the first case: the location read as village, ward, sub-county; basic information without name
        # or birth date; the concerns and the national case categories in words; the plan's actions with their status
        assert "district Kisumu East; ward Nyalenda B; village Kanyakwar" in one
        assert "female; aged 10-14; lives with: relatives" in one
        assert "Neglect; Child out of school" in one and "neglect; Neglect" not in one  # the concern neglect is the category
        assert "A1 Pay fees through the bursary (by 15 December 2026): done" in one
        assert "A2 Go to school (by 10 January 2027): no progress recorded yet" in one
        assert "Back in school since October." in one and "Food runs short at the end of the month." in one
        assert "2015" not in one and "2014" not in one  # no date of birth
        # the second case: one part of the location (the village), the rest blank; no successes or challenges minuted
        assert "district —; ward —; village Nyalenda" in two
        assert "child labour" in two
        assert two.count("not recorded") == 2, two  # successes, challenges
        # Part II: bottlenecks, summary notes, the action's resources
        part2 = text.split("Part II")[1]
        assert "The bursary office asks for a birth certificate first." in part2
        assert "Summary 1, identified by case ID only" in part2 and "Bursary form, transport" in part2
        # one heading, one meaning: Part I's table gives the presentation and the summary under its own heading;
        # "progress and actions to date" is each case's plan actions with their status, once per case
        assert "Presentation and summary" in text.split(first)[0] and text.count("Progress and actions to date") == 2
        sw = kenya("sup", LATER)("render", "conference-report", conf, "--format", fmt, "--lang", "sw")
        assert sw.code == 0 and "Zqxcanary" not in sw.stdout, sw.stderr
        assert "Uwasilishaji na muhtasari" in sw.stdout and sw.stdout.count("Maendeleo na hatua hadi sasa") == 2
        assert "Msimamizi" in sw.stdout and "wilaya Kisumu East; wadi Nyalenda B; kijiji Kanyakwar" in sw.stdout
        assert "umri wa miaka 10-14" in sw.stdout and "Vikwazo na changamoto" in sw.stdout


def vulnerabilities(text: str, fmt: str) -> str:
    """The report's "primary vulnerabilities" words for its one case, as printed (en or sw)."""
    label = "Primary vulnerabilities" if "Primary vulnerabilities" in text else "Udhaifu mkuu"
    if fmt == "html":
        return text.split(f"<tr><th>{label}</th><td>")[1].split("</td>")[0]
    return text.split(f"- **{label}:** ")[1].split("\n")[0]


@pytest.mark.parametrize("lang,expected", [
    ("en", "child labour; Neglect; Child-headed household; Orphaned child"),
    ("sw", "ajira ya watoto; Kutelekezwa; Kaya inayoongozwa na mtoto; Mtoto yatima"),
])
def test_render__form8_names_each_vulnerability_once_in_the_reports_language(kenya, lang, expected):
    """A concern the registration's national case categories already say (the concern neglect and
    the category neglect, one CPIMS case category) is printed once, by the category's words in the
    report's language; the other concerns stay. The same in Markdown, HTML and --json."""
    case_id = planned(kenya, CANARY, concerns=["neglect", "child_labour", "child_headed_household"],
                      case_categories=["neglect", "child_headed_household", "orphaned"])
    conf = held(kenya, [case_id], minutes_doc([case_id]))
    sup = kenya("sup", LATER)
    for fmt in ("md", "html"):
        report = sup("render", "conference-report", conf, "--format", fmt, "--lang", lang)
        assert report.code == 0, report.stderr
        assert vulnerabilities(report.stdout, fmt) == expected
    document = sup("render", "conference-report", conf, "--lang", lang, "--json")
    assert document.code == 0, document.stderr
    assert vulnerabilities(document.json()["document"], "md") == expected


@pytest.mark.parametrize("lang,title", [("en", "Supervisor"), ("sw", "Msimamizi")])
def test_render__form8_gives_the_chair_name_and_title_the_same_in_every_rendering(kenya, lang, title):
    """The chair by name and title (the role in the team), the chair from outside the team and the
    co-chair with their titles: the same words in the report's Markdown, HTML and --json document."""
    case_id = planned(kenya, CANARY)
    sup = kenya("sup")
    conf = new_conference(sup, "--external-chair", "Officer Six", "--external-chair-title", "County Children's Coordinator",
                          "--co-chair", "Officer Seven", "--co-chair-title", "Sub-County Children's Officer")
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = kenya("sup", CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    assert closer("conference", "close", conf).code == 0
    later = kenya("sup", LATER)
    markdown = later("render", "conference-report", conf, "--lang", lang).stdout
    html = later("render", "conference-report", conf, "--format", "html", "--lang", lang).stdout
    document = later("render", "conference-report", conf, "--lang", lang, "--json").json()["document"]
    assert document == markdown
    people = (f"sup, {title}", "Officer Six, County Children's Coordinator", "Officer Seven, Sub-County Children's Officer")
    def chairs(lines, start, end):  # the words after each chair's label (Chair..., Co-chair; Mwenyekiti...)
        return [line.split(end, 1)[1] for line in lines
                if line.startswith(start) and any(word in line.split(end)[0] for word in ("Chair", "Co-chair", "Mwenyekiti"))]

    in_markdown = chairs(markdown.splitlines(), "- **", ":** ")
    in_html = [unescape(text.removesuffix("</li>")) for text in chairs(html.splitlines(), "<li><strong>", ":</strong> ")]
    assert in_markdown == in_html == list(people), (in_markdown, in_html)


def test_render__minutes_without_the_form8_fields_still_render_with_blanks(kenya):
    case_id = planned(kenya, CANARY)
    conf = held(kenya, [case_id], minutes_doc([case_id]))
    report = kenya("sup", LATER)("render", "conference-report", conf)
    assert report.code == 0, report.stderr
    part2 = report.stdout.split("Part II")[1]
    assert "**Bottlenecks and challenges:** not recorded" in part2
    assert "**Successes to date:** not recorded" in report.stdout and "Zqxcanary" not in report.stdout


def test_render__a_plan_action_naming_the_child_is_given_by_its_id_date_and_status_only(kenya):
    """The plan's own words may name the child: the report gives that action's ID, date and status,
    and a warning names the case and the action, never the name."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2014-04-01", "disability": "no"})
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    doc = plan_doc()
    doc["actions"][0]["what"] = f"Take {CANARY.split()[0]} to the bursary office"
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(doc)).code == 0
    assert sup("approve", case_id, "plan").code == 0
    conf = held(kenya, [case_id], minutes_doc([case_id]))
    for fmt in ("md", "html"):
        report = kenya("sup", LATER)("render", "conference-report", conf, "--format", fmt)
        assert report.code == 0, report.stderr
        assert "Zqxcanary" not in report.stdout + report.stderr and "A2 Go to school" in report.stdout
        assert f"plan action A1 of {case_id} holds a name" in report.stderr, report.stderr


@pytest.mark.parametrize("field", ["bottlenecks", "successes", "challenges"])
def test_minutes__a_name_in_a_form8_field_is_refused_naming_the_field_and_nothing_is_written(kenya, field):
    case_id = planned(kenya, CANARY)
    sup = kenya("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = kenya("sup", CLOSE_NOW)
    minutes = minutes_doc([case_id])
    minutes["cases"][0][field] = "Zqxcanary did well this month."
    shown = closer("conference", "show", conf, "--json").stdout
    refused = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes))
    assert refused.code == 4 and f"cases[1].{field}" in refused.stderr and "Zqxcanary" not in refused.stderr, refused.stderr
    assert "a name registered for" in refused.stderr  # refused for the name, not as a field the form does not know
    assert closer("conference", "show", conf, "--json").stdout == shown


# -- Form 2: the presenter's answers to the 26 prompts, with the nomination ------------------------------
FORM2 = {"background": {"p01_referral": "Chief's office, 2 November 2026", "p02_date_opened": "2026-11-23",
                        "p05_care_arrangement": "With relatives in the ward"},
         "situation": {"p06_main_issues": "Out of school for a term; meals skipped.", "p10_further_risk": "Low while the aunt stays",
                       "p11_other_children": "A younger sibling, also out of school"},
         "next_steps": {"p25_way_forward": [{"step": "Bursary application", "responsible": "amina", "timeline": "by 15 December"}],
                        "p26_advocacy": "Levies waived for children in need across the ward"}}


def test_add_case__form2_answers_recorded_encrypted_read_back_and_on_the_agenda_by_case_id(kenya):
    from conftest import commit_count, git

    case_id = planned(kenya, CANARY)
    sup = kenya("sup")
    conf = new_conference(sup)
    before = commit_count(kenya.root)
    added = sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult", "--preparation-file", "-",
                input=json.dumps(FORM2))
    assert added.code == 0, added.stderr
    assert commit_count(kenya.root) == before + 1
    (case,) = sup("conference", "show", conf, "--json").json()["cases"]
    assert case["preparation"] == FORM2
    for path in (kenya.root / "conferences" / conf).iterdir():  # encrypted like every conference record
        assert b"Out of school for a term" not in path.read_bytes()
    assert "Zqxcanary" not in git(kenya.root, "log", "--format=%B")
    for fmt in ("md", "html"):
        agenda = sup("render", "agenda", conf, "--format", fmt)
        assert agenda.code == 0, agenda.stderr
        text = agenda.stdout.split("Case preparation (Form 2)")[1]
        assert case_id in text and "Zqxcanary" not in agenda.stdout
        assert "11. Are other children experiencing abuse or at risk of it?" in text and "A younger sibling, also out of school" in text
        assert "Bursary application; amina; by 15 December" in text
        assert "Levies waived for children in need across the ward" in text
    sw = sup("render", "agenda", conf, "--lang", "sw")
    assert "11. Je, watoto wengine wananyanyaswa au wako hatarini?" in sw.stdout


@pytest.mark.parametrize("answers,field", [
    ({"situation": {"p10_further_risk": "yes", "p99_unknown": "x"}}, "situation.p99_unknown"),
    ({"background": {"p02_date_opened": "last week"}}, "background.p02_date_opened"),
    ({"situation": {"p08_child_view": "Zqxcanary wants to go home."}}, "preparation.situation.p08_child_view"),
])
def test_add_case__a_bad_form2_field_is_refused_naming_it_and_nothing_is_written(kenya, answers, field):
    from conftest import commit_count

    case_id = planned(kenya, CANARY)
    sup = kenya("sup")
    conf = new_conference(sup)
    before = commit_count(kenya.root)
    refused = sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult", "--preparation-file", "-",
                  input=json.dumps(answers))
    assert refused.code == 4 and field in refused.stderr and "Zqxcanary" not in refused.stderr, refused.stderr
    assert commit_count(kenya.root) == before
    assert sup("conference", "show", conf, "--json").json()["cases"] == []


def test_update__form2_answers_naming_someone_registered_since_are_replaced_and_the_conference_goes_on(kenya):
    """Form 2 answers written before a caregiver of another case was registered by a name they use:
    the minutes are refused, naming where; `conference update --case C --preparation-file F --reason
    T` replaces the answers (\"\" takes them out) and the minutes go through; the answers replaced are
    not repeated by `conference show`."""
    first, second = planned(kenya, CANARY), planned(kenya, "Yqwother Child")
    sup = kenya("sup")
    conf = new_conference(sup)
    answers = {"situation": {"p09_caregivers": "Xqneema supports the family"}}
    assert sup("conference", "add-case", conf, first, "--reason", "especially_difficult", "--preparation-file", "-",
               input=json.dumps(answers)).code == 0
    assert sup("conference", "add-case", conf, second, "--reason", "especially_difficult").code == 0
    assert kenya("amina")("update", second, "--set", "caregiver.name=Xqneema Otieno", "--reason", "the aunt").code == 0
    closer = kenya("sup", CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    refused = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([first, second])))
    assert refused.code == 4 and f"preparation of {first}" in refused.stderr and "--preparation-file" in refused.stderr
    assert "Xqneema" not in refused.stderr
    no_reason = closer("conference", "update", conf, "--case", first, "--preparation-file", "-",
                       input=json.dumps({"situation": {"p09_caregivers": "The aunt supports the family"}}))
    assert no_reason.code == 4 and "reason" in no_reason.stderr
    replaced = closer("conference", "update", conf, "--case", first, "--preparation-file", "-", "--reason", "named the aunt",
                      input=json.dumps({"situation": {"p09_caregivers": "The aunt supports the family"}}))
    assert replaced.code == 0, replaced.stderr
    shown = closer("conference", "show", conf, "--json")
    assert "Xqneema" not in shown.stdout
    case = next(c for c in shown.json()["cases"] if c["case_id"] == first)
    assert case["preparation"]["situation"]["p09_caregivers"] == "The aunt supports the family"
    recorded = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([first, second])))
    assert recorded.code == 0, recorded.stderr
    out = closer("conference", "update", conf, "--case", first, "--preparation-file", "", "--reason", "not needed")
    assert out.code == 0, out.stderr
    assert "preparation" not in next(c for c in closer("conference", "show", conf, "--json").json()["cases"] if c["case_id"] == first)
