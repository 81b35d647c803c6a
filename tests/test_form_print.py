"""cpcm form print: a printable blank of every form a worker fills on paper, generated from the
form definitions through one template, in English and in Kiswahili, HTML on A4 (checked in
headless Chromium) or Markdown. No case data goes in it."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from test_reports_browser import CHROMIUM, chromium, console_messages

from cpcm.render import env
from cpcm.store import codec, forms, policies

PAPER = ["registration", "initial", "comprehensive", "best-interests", "readiness", "followup", "review", "consent", "closure",
         "plan", "sign-off", "conference-minutes"]
KENYA_ONLY = ["transfer-kenya", "registration-kenya"]
CHOICES = Path(__file__).resolve().parents[1] / "templates" / "_choices.j2"


def printed(cli, *args: str) -> str:
    done = cli("form", "print", *args)
    assert done.code == 0, done.stderr
    return done.stdout


def _labels(name: str, lang: str) -> list[str]:
    form = forms.load(name)
    return [f.label.get(lang) or f.label["en"] for f in form.fields if f.key != "checklist"]


@pytest.mark.parametrize("name", PAPER + KENYA_ONLY)
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
    assert ("Case ID" in page) == (lang == "en") and ("Namba ya kesi" in page) == (lang == "sw")
    markdown = printed(cli, name, "--lang", lang, "--profile", "kenya", "--format", "md")
    assert markdown.startswith("# ") and _labels(chosen, lang)[0] in html.unescape(markdown)


def test_form_print__every_choice_of_every_form_has_words_in_every_language():
    """A choice value is printed from the form's own choice_labels (the national case
    categories) or from the one word list, _values.j2 (which _choices.j2 takes), whose words the
    catalogs translate (test_catalogs): none is printed as a bare code."""
    assert '{% set choice = values.codes %}' in CHOICES.read_text()
    known = set(re.findall(r'^  "([a-z0-9_]+)": (?:_|pgettext)\(', (CHOICES.parent / "_values.j2").read_text(), re.M))
    for name in forms.available():
        labels = forms.choice_labels(name)
        for field in forms.load(name).fields:
            named = next((labels[k] for k, v in forms.load(name).lists.items() if tuple(v) == field.choices and k in labels), {})
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


def test_form_blank__kept_and_follows_the_kenya_profile_only_when_asked_by_name(cli):
    blank = cli("form", "blank", "registration-kenya")
    assert blank.code == 0 and "case_categories:" in blank.stdout
    assert "case_categories" not in cli("form", "blank", "registration").stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run `make test`")
@pytest.mark.parametrize("name,lang", [("registration", "sw"), ("readiness", "en"), ("closure", "sw")])
def test_form_print__in_chromium_no_console_message_a4_pages_and_nothing_wider_than_the_page(cli, tmp_path, name, lang):
    page = tmp_path / f"{name}-{lang}.html"
    page.write_text(printed(cli, name, "--lang", lang, "--profile", "kenya"), encoding="utf-8")
    pdf = tmp_path / f"{name}-{lang}.pdf"
    done = chromium(tmp_path, page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert not console_messages(done), console_messages(done)
    boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf.read_bytes())
    assert boxes and all(abs(float(w) - 595.28) < 1 and abs(float(h) - 841.89) < 1 for w, h in boxes), boxes[:3]
    # at the width of A4 (794 CSS pixels), the page scrolls down only, never sideways
    probe = tmp_path / f"{name}-{lang}-probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", "<script>document.title = 'W' + document.documentElement.scrollWidth + '/' + window.innerWidth;</script></body>"),
        encoding="utf-8")
    dom = chromium(tmp_path, probe, "--dump-dom", "--window-size=794,1123")
    found = re.search(r"<title>W(\d+)/(\d+)</title>", dom.stdout)
    assert found and int(found.group(1)) <= int(found.group(2)), found and found.group(0)
    shot = tmp_path / f"{name}-{lang}.png"
    chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=794,1123")
    print(f"screenshot of the printed {name} form: {shot}")
