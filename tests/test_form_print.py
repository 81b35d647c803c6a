"""cpcm form print: a printable blank of every form a worker fills on paper, generated from the
form definitions through one template, in English and in Kiswahili, HTML on A4 (checked in
headless Chromium) or Markdown. No case data goes in it."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from conftest import CANARY
from test_reports_browser import CHROMIUM, chromium, console_messages, screenshot

from cpcm.render import env
from cpcm.store import codec, forms, policies

PAPER = ["registration", "initial", "comprehensive", "best-interests", "readiness", "followup", "review", "consent", "closure",
         "plan", "sign-off", "conference-minutes"]
# the Kenya case-conferencing SOP's forms (Form 5 prints with `cpcm render form-5`, Form 7 is the minutes)
SOP_FORMS = {"conference-presentation": "1", "conference-preparation": "2", "conference-checklist": "3",
             "conference-agenda": "4", "conference-attendance": "6", "conference-minutes": "7", "conference-report": "8"}
CONFERENCE_HEADED = set(SOP_FORMS) - {"conference-presentation", "conference-preparation"}
KENYA_ONLY = ["transfer-kenya", "registration-kenya"]
CHOICES = Path(__file__).resolve().parents[1] / "templates" / "_choices.j2"


def printed(cli, *args: str) -> str:
    done = cli("form", "print", *args)
    assert done.code == 0, done.stderr
    return done.stdout


def _labels(name: str, lang: str) -> list[str]:
    form = forms.load(name)
    return [f.label.get(lang) or f.label["en"] for f in form.fields if f.key != "checklist"]


@pytest.mark.parametrize("name", PAPER + KENYA_ONLY + sorted(set(SOP_FORMS) - set(PAPER)))
@pytest.mark.parametrize("lang", ["en", "sw"])
def test_form_print__every_form_in_each_language_holds_every_field_label(cli, name, lang):
    """Outside a repository too (the profile given): each field's label in the language asked
    for, the frame's words from the catalog, HTML and Markdown."""
    policy = policies.load("kenya")
    chosen = str(policy.get("forms", name.replace("-", "_")) or name)
    page = html.unescape(printed(cli, name, "--lang", lang, "--profile", "kenya"))
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    for label in _labels(chosen, lang):
        assert label in page, (chosen, lang, label)
    if chosen in CONFERENCE_HEADED:  # a conference's form: its ID, the date and the chair at the top
        assert ("Conference ID" in page) == (lang == "en") and ("Namba ya mkutano" in page) == (lang == "sw")
        assert ("Chair/facilitator" in page) == (lang == "en") and ("Mwenyekiti/mwezeshaji" in page) == (lang == "sw")
    else:
        assert ("Case ID" in page) == (lang == "en") and ("Namba ya kesi" in page) == (lang == "sw")
    markdown = printed(cli, name, "--lang", lang, "--profile", "kenya", "--format", "md")
    assert markdown.startswith("# ") and _labels(chosen, lang)[0] in html.unescape(markdown)


def test_form_print__every_choice_of_every_form_has_words_in_every_language():
    """A choice value is printed from the form's own choice_labels (the national case
    categories), from the policy's words for a list of its own (the eligibility criteria), or from
    the one word list, _values.j2 (which _choices.j2 takes), whose words the catalogs translate
    (test_catalogs): none is printed as a bare code."""
    assert '{% set choice = values.codes %}' in CHOICES.read_text()
    known = set(re.findall(r'^  "([a-z0-9_]+)": (?:_|pgettext)\(', (CHOICES.parent / "_values.j2").read_text(), re.M))
    for name in forms.available():
        labels = forms.choice_labels(name)
        for field in forms.load(name).fields:
            named = next((labels[k] for k, v in forms.load(name).lists.items() if tuple(v) == field.choices and k in labels), {})
            if field.policy_list:
                named = {c["id"]: c["label"] for c in policies.load("inter-agency").eligibility_criteria}
            for value in field.choices:
                if name != "service":  # the directory entry is not a paper form
                    assert value in known or (value in named and named[value].get("sw")), (name, field.key, value)


def test_form_print__kenya_registration_lists_the_national_categories_and_closure_form_9a(cli):
    page = html.unescape(printed(cli, "registration", "--profile", "kenya"))
    assert "Case categories (national list, DCS)" in page and "Children on the streets" in page and "Smuggling" in page
    assert "Where the registration took place" in page
    inter = html.unescape(printed(cli, "registration", "--profile", "inter-agency"))
    assert "Case categories" not in inter and "Where the registration took place" in inter
    closure = html.unescape(printed(cli, "closure", "--profile", "kenya", "--lang", "sw"))
    assert "Afisa wa Watoto wa Kaunti Ndogo alipitia mpango wa kufunga kesi na akatoa idhini ya mwisho." in closure
    assert "Je, mtoto au kijana alitoa maoni kuhusu huduma za usimamizi wa kesi?" in closure
    assert "Ziara ya mwisho na mtoto na familia imepangwa." in closure


def test_form_print__the_repositorys_profile_by_default_and_no_case_data(cli, cli_as, repo):
    page = printed(cli, "registration")
    assert "Case categories" not in page and "inter-agency" in page  # the test repository's profile
    assert "Test Child" not in page


def test_form_print__bad_names_and_options_are_refused_and_out_is_never_overwritten(cli, tmp_env):
    assert cli("form", "print", "no-such-form").code == 3
    assert cli("form", "print", "../registration").code == 2
    assert cli("form", "print", "registration", "--lang", "fr").code == 3
    assert cli("form", "print", "registration", "--format", "pdf").code == 2
    out = tmp_env / "blank.html"
    assert cli("form", "print", "review", "--out", str(out)).code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    assert cli("form", "print", "review", "--out", str(out)).code == 2
    assert cli("form", "print", "review", "--out", str(out), "--force").code == 0


def test_form_print__an_out_name_of_another_format_is_refused_and_the_name_picks_the_format(cli, tmp_env):
    """`form print review --out blank.md` wrote HTML (the default --format) under a Markdown name,
    and `--out blank.pdf` HTML under a PDF's; `--format html --out blank.md` too. The name now
    picks the format, as a report's --out does, and a name of another format than --format's, or
    of none it writes, is refused (common.out_format: exit 2, nothing written), without repeating
    the name typed."""
    markdown = tmp_env / "blank.md"
    assert cli("form", "print", "review", "--out", str(markdown)).code == 0
    assert markdown.read_text(encoding="utf-8") == cli("form", "print", "review", "--format", "md").stdout
    word = CANARY.split()[0]
    for name, options in ((f"{word}.md", ["--format", "html"]), (f"{word}.pdf", []), (f"{word}.html", ["--format", "md"]),
                          (f"Otieno.{word}", [])):
        refused = cli("form", "print", "review", "--out", str(tmp_env / name), *options)
        assert refused.code == 2 and "nothing was written" in refused.stderr, refused.stderr
        assert word.lower() not in refused.stderr.lower() and not (tmp_env / name).exists()
    assert "For a PDF, write HTML" in cli("form", "print", "review", "--out", str(tmp_env / "blank.pdf")).stderr


def test_form_blank__kept_and_follows_the_kenya_profile_only_when_asked_by_name(cli):
    blank = cli("form", "blank", "registration-kenya")
    assert blank.code == 0 and "case_categories:" in blank.stdout
    assert "case_categories" not in cli("form", "blank", "registration").stdout


def test_form_blank_and_print__a_name_typed_with_capitals_or_spaces_is_the_form_a_path_is_refused(cli):
    """`Registration` or `registration ` is the registration form, as every other choice takes any capitals
    (it was refused as "not a path", exit 2); a path is still refused, and a name not in the list is not found."""
    assert cli("form", "blank", "Registration").stdout == cli("form", "blank", "registration ").stdout == \
        cli("form", "blank", "registration").stdout
    assert cli("form", "print", " Readiness", "--format", "md").stdout == cli("form", "print", "readiness", "--format", "md").stdout
    assert cli("form", "blank", "../registration").code == 2 and cli("form", "blank", "Nope").code == 3


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test`")
@pytest.mark.parametrize("name,lang", [("registration", "sw"), ("readiness", "en"), ("closure", "sw"), ("conference-report", "sw"),
                                       ("conference-checklist", "en")])
def test_form_print__in_chromium_no_console_message_a4_pages_and_nothing_wider_than_the_page(cli, tmp_path, name, lang):
    page = tmp_path / f"{name}-{lang}.html"
    page.write_text(printed(cli, name, "--lang", lang, "--profile", "kenya"), encoding="utf-8")
    # one Chromium run: the page printed, in a window as wide as A4 (794 CSS pixels); a script added at its end writes into
    # its title how wide the page is and how wide the window, and the PDF keeps the title
    probe = tmp_path / f"{name}-{lang}-probe.html"
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    probe.write_text(text.replace(
        "</body>", "<script>document.title = 'W' + document.documentElement.scrollWidth + '/' + window.innerWidth;</script></body>"),
        encoding="utf-8")
    pdf = tmp_path / f"{name}-{lang}.pdf"
    done = chromium(tmp_path, probe, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--window-size=794,1123")
    assert not console_messages(done), console_messages(done)
    printed_pdf = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", printed_pdf)
    assert boxes and all(abs(float(w) - 595.28) < 1 and abs(float(h) - 841.89) < 1 for w, h in boxes), boxes[:3]
    # at the width of A4, the page scrolls down only, never sideways
    found = re.search(rb"/Title \(W(\d+)/(\d+)\)", printed_pdf)
    assert found and int(found.group(2)) == 794 and int(found.group(1)) <= int(found.group(2)), found and found.group(0)
    screenshot(tmp_path, page, "794,1123")


def _texts(definition: dict) -> list[tuple[str, dict]]:
    """Every label, help, title, intro and choice label of a form definition, with where it is."""
    found = [("title", definition["title"])]
    paper = definition.get("paper") or {}
    found += [(f"paper.{key}", paper[key]) for key in ("intro", "typed_in") if key in paper]
    found += [(f"paper.sections.{key}", value) for key, value in (paper.get("sections") or {}).items()]
    found += [(f"choice_labels.{name}.{value}", words) for name, values in (definition.get("choice_labels") or {}).items()
              for value, words in values.items()]

    def fields(entries, where):
        for field in entries:
            found.append((f"{where}{field['key']}.label", field["label"]))
            if "help" in field:
                found.append((f"{where}{field['key']}.help", field["help"]))
            fields(field.get("item") or [], f"{where}{field['key']}.")
    fields(definition.get("fields") or [], "")
    return found


@pytest.mark.parametrize("name", sorted(SOP_FORMS))
def test_form_print__the_sop_forms_say_their_source_and_every_word_in_english_and_kiswahili(name):
    definition = codec.loads((forms.HERE / f"{name}.yaml").read_bytes())
    assert f"Form {SOP_FORMS[name]}" in definition["source"] and "SOP for Case Conferencing" in definition["source"]
    assert str(definition["paper"]["sop_form"]) == SOP_FORMS[name]
    missing = [where for where, words in _texts(definition) if not (words.get("en") and words.get("sw"))]
    assert not missing, missing
    assert f"(SOP Form {SOP_FORMS[name]})" in definition["title"]["en"] and f"(Fomu {SOP_FORMS[name]} ya SOP)" in definition["title"]["sw"]


def test_form_list__shows_the_sop_forms_with_their_number(cli):
    done = cli("form", "list")
    assert done.code == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    for name, number in SOP_FORMS.items():
        assert lines[name].endswith(f"SOP Form {number}"), lines[name]
    assert lines["registration"] == "registration"  # a form that is no SOP form: its name alone
    listed = cli("form", "list", "--json")
    assert listed.code == 0 and set(SOP_FORMS) <= set(codec.loads(listed.stdout.encode()))


def test_form_print__the_sop_forms_print_what_the_sop_asks(cli):
    """Form 3's items as the SOP numbers them (no item 5), each with its status and a comment;
    Form 6's register with room for a meeting; Form 2's 26 prompts under their headings; Form
    8's two parts; how each gets into cpcm instead of 'cpcm form blank'."""
    checklist = html.unescape(printed(cli, "conference-checklist"))
    numbers = re.findall(r"<h2>(\d)\. ", checklist)
    assert numbers == ["1", "2", "3", "4", "6", "7", "8", "9"], numbers
    assert checklist.count("done (√)") == 8 and checklist.count("not done (X)") == 8 and checklist.count(">Comments<") == 8
    assert "within 24 hours after" in checklist and "at least 3 days before" in checklist
    assert "cpcm form blank" not in checklist and "cpcm conference new or update" in checklist
    attendance = html.unescape(printed(cli, "conference-attendance", "--lang", "sw"))
    register = attendance.split("Mahudhurio</div>")[1]
    assert len(re.findall(r"<tr><td>\d+</td>", register)) == 16 and "Taasisi/shirika" in register and "Mawasiliano" in register
    assert "cpcm conference attend" in attendance
    preparation = html.unescape(printed(cli, "conference-preparation", "--format", "md"))
    prompts = re.findall(r"^\*\*(\d+)\. ", preparation, re.M)
    assert prompts == [str(n) for n in range(1, 27)], prompts
    assert "## Open discussion" in preparation and "Notes from discussion" in preparation
    report = html.unescape(printed(cli, "conference-report"))
    assert "Part I: Preparations" in report and "Part II: Case conference notes" in report
    part1, part2 = report.split("Part II")
    assert len(re.findall(r"<tr><td>\d+</td>", part1)) == 5 and len(re.findall(r"<tr><td>\d+</td>", part2)) == 3
    assert "Location of case (district, ward, village)" in part1 and "Resources needed" in part2
    assert report.count('<table class="entries tall">') == 2  # room to write by hand in each row
    presentation = html.unescape(printed(cli, "conference-presentation", "--lang", "sw"))
    assert presentation.index("1. Kujitambulisha") < presentation.index("6. Hatua zinazopendekezwa")
