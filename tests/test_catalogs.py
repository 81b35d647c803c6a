"""The documents' catalogs: every word in the templates is in cpcm.pot and translated in every
shipped language; the catalogs are not stale; a new language is one catalog.

Extraction is Babel's own, with the project's babel.cfg (what `make catalogs` runs)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "cpcm" / "render" / "locale"


def _key(message) -> tuple:
    """(context, msgid, plural msgid) of a Babel message."""
    ids = message.id if isinstance(message.id, (list, tuple)) else (message.id, None)
    return (message.context, ids[0], ids[1])


def extracted() -> set[tuple]:
    """Every message the templates (and the date words in render/env.py) hold, as
    `make catalogs` would extract them."""
    from babel.messages.extract import extract_from_dir

    try:
        from babel.messages.frontend import parse_mapping_cfg as parse_mapping
    except ImportError:  # Babel < 2.14
        from babel.messages.frontend import parse_mapping
    with open(ROOT / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping(handle)
    found = set()
    for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map):
        ids = message if isinstance(message, tuple) else (message, None)
        found.add((context, ids[0], ids[1]))
    return found


def read(path: Path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        return read_po(handle)


def shipped_languages() -> list[str]:
    return sorted(p.parents[1].name for p in LOCALE.glob("*/LC_MESSAGES/cpcm.po"))


def test_kiswahili_is_shipped():
    assert "sw" in shipped_languages()


def test_the_catalog_template_holds_every_message_of_the_templates():
    """Stale .pot: a word added to, or removed from, a template without `make catalogs`."""
    template = {_key(m) for m in read(LOCALE / "cpcm.pot") if m.id}
    found = extracted()
    assert len(found) > 400  # the extraction itself works: every document's words are found
    assert not found - template, f"not in cpcm.pot (run make catalogs): {sorted(found - template, key=str)[:10]}"
    assert not template - found, f"in cpcm.pot but in no template (run make catalogs): {sorted(template - found, key=str)[:10]}"


@pytest.mark.parametrize("lang", shipped_languages())
def test_every_message_is_translated(lang):
    """A catalog that misses a message, holds it empty or fuzzy, or holds one the templates no
    longer have, fails."""
    catalog = read(LOCALE / lang / "LC_MESSAGES" / "cpcm.po")
    messages = {_key(m): m for m in catalog if m.id}
    found = extracted()
    missing = sorted(found - messages.keys(), key=str)
    assert not missing, f"{lang}: not in the catalog (run make catalogs, then translate): {missing[:10]}"
    stale = sorted(messages.keys() - found, key=str)
    assert not stale, f"{lang}: in the catalog but in no template (run make catalogs): {stale[:10]}"
    untranslated = [key for key, m in messages.items()
                    if m.fuzzy or not (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)]
    assert not untranslated, f"{lang}: empty or fuzzy translations: {sorted(untranslated, key=str)[:10]}"


@pytest.mark.parametrize("lang", shipped_languages())
def test_translations_keep_the_placeholders(lang):
    """'%(name)s' in a message must be in its translation (or rendering fails with a KeyError)."""
    import re

    catalog = read(LOCALE / lang / "LC_MESSAGES" / "cpcm.po")
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", ids[-1])) | set(re.findall(r"%\((\w+)\)s", ids[0]))
        for string in strings:
            if set(re.findall(r"%\((\w+)\)s", string)) - wanted or (wanted - {"count"}) - set(re.findall(r"%\((\w+)\)s", string)):
                wrong.append(ids[0])
    assert not wrong, f"{lang}: placeholders differ from the message: {wrong[:10]}"


# -- a third language is one catalog --------------------------------------------------------------------
FRENCH = r'''msgid ""
msgstr ""
"Language: fr\n"
"Content-Type: text/plain; charset=utf-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

msgid "Referral %(ref)s: %(case_id)s"
msgstr "Orientation %(ref)s : %(case_id)s"

msgid "Confidential."
msgstr "Confidentiel."

msgid "Age"
msgstr "Âge"

msgid "December"
msgstr "décembre"

msgid "%(day)s %(month)s %(year)s"
msgstr "le %(day)s %(month)s %(year)s"
'''


def _referral_view(lang: str) -> dict:
    """The view model of a referral letter that shares no group of the case's data."""
    return {"lang": lang, "agency": {"name": "Agency", "code": "AG"}, "date": "2026-12-01", "case_id": "CP-4F7K-9X2M",
            "ref": "R1", "sent_on": "2026-12-01",
            "to": {"id": "health", "provider": "Clinic", "contact": None, "how_to_refer": None},
            "from": {"id": "w1", "name": "Amina"}, "groups": [], "identity": None, "contact": None, "need": None,
            "urgency": "routine", "medical": None, "schooling": None, "accompany": False, "feedback_days": 14}


def test_a_third_language_needs_only_a_catalog(tmp_path):
    from cpcm.render.env import available, date_words, languages, render

    root = tmp_path / "repo"
    catalog = root / ".cpcm" / "locale" / "fr" / "LC_MESSAGES" / "cpcm.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(FRENCH, encoding="utf-8")

    assert "fr" in languages(root) and "fr" not in languages(None)
    assert ("fr", "md") in available(root)["referral-letter"] and ("fr", "html") in available(root)["child-plan"]
    assert date_words("2026-12-01", "fr", root=root) == "le 1 décembre 2026"
    assert date_words("2026-11-01", "fr", root=root) == "2026-11-01"  # November untranslated: the ISO date

    view = _referral_view("fr")
    text = render("referral-letter", "fr", "md", view, root)
    assert text.startswith("# Orientation R1 : CP-4F7K-9X2M")
    assert "**Confidentiel.**" in text
    assert "**To:** Clinic" in text  # a message the catalog does not translate: in the source language
    english = render("referral-letter", "en", "md", _referral_view("en"), root)
    assert english.startswith("# Referral R1: CP-4F7K-9X2M") and "**Confidential.**" in english


def test_a_language_without_a_catalog_is_refused():
    from cpcm.errors import NotFound
    from cpcm.render.env import render

    with pytest.raises(NotFound) as refused:
        render("child-plan", "fr", "md", {"lang": "fr"})
    assert "fr" not in refused.value.message and "Languages: en, sw" in refused.value.hint  # the value typed is not repeated


def test_an_agency_catalog_changes_words_over_the_shipped_one(tmp_path):
    """The agency's catalog comes first; the shipped one fills in what it does not translate."""
    from cpcm.render.env import environment

    root = tmp_path / "repo"
    catalog = root / ".cpcm" / "locale" / "sw" / "LC_MESSAGES" / "cpcm.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                       'msgid "girl"\nmsgstr "binti"\n', encoding="utf-8")
    template = '{% import "_words.j2" as w %}{{ w.sex.female }} {{ w.sex.male }} {{ _("girl") }}'
    assert environment(root, "sw").from_string(template).render() == "binti mvulana binti"
    assert environment(None, "sw").from_string(template).render() == "msichana mvulana msichana"
    assert environment(root, "en").from_string(template).render() == "girl boy girl"


def test_the_catalogs_are_read_once_and_again_when_the_agencys_changes(tmp_path, monkeypatch):
    """Every date a document prints asks for the language's words: the catalogs are made into one chain
    once (each `.po` compiled once, its `.mo` read once), not for every date; an agency's catalog
    changed on disk is read again."""
    import gettext
    import os

    from cpcm.render.env import date_words, translations

    root = tmp_path / "repo"
    catalog = root / ".cpcm" / "locale" / "sw" / "LC_MESSAGES" / "cpcm.po"
    catalog.parent.mkdir(parents=True)
    head = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
    catalog.write_text(head + 'msgid "girl"\nmsgstr "binti"\n', encoding="utf-8")
    parsed = []
    real = gettext.GNUTranslations._parse
    monkeypatch.setattr(gettext.GNUTranslations, "_parse", lambda self, fp: parsed.append(1) or real(self, fp))
    first = translations("sw", root)
    count = len(parsed)
    dates = [date_words(f"2026-03-{day:02d}", "sw", root=root) for day in range(1, 29)]
    assert translations("sw", root) is first and len(parsed) == count and "Machi" in dates[0]
    catalog.write_text(head + 'msgid "girl"\nmsgstr "msichana mdogo"\n', encoding="utf-8")
    os.utime(catalog, ns=(catalog.stat().st_mtime_ns + 10 ** 9,) * 2)
    assert translations("sw", root).gettext("girl") == "msichana mdogo" and first.gettext("girl") == "binti"


def test_an_agency_language_file_still_wins_for_its_language(tmp_path):
    """An agency's `_words.sw.j2` (from before catalogs) replaces the shared word list in
    Kiswahili only."""
    from cpcm.render.env import environment, shipped_dir

    root = tmp_path / "repo"
    agency = root / ".cpcm" / "templates"
    agency.mkdir(parents=True)
    shared = (shipped_dir() / "_words.j2").read_text(encoding="utf-8")
    (agency / "_words.sw.j2").write_text(shared.replace('_("girl")', '"msichana mdogo"'), encoding="utf-8")
    template = '{% import "_words.j2" as w %}{{ w.sex.female }}'
    assert environment(root, "sw").from_string(template).render() == "msichana mdogo"
    assert environment(root, "en").from_string(template).render() == "girl"


def test_kiswahili_one_month_and_one_year_are_singular():
    """A one-month duration read 'miezi 1' and a child of one 'miaka 1' in Kiswahili documents:
    the singular noun is another word (mwezi, mwaka)."""
    from cpcm.render.env import translations

    sw = translations("sw")
    assert sw.ngettext("%(count)s month", "%(count)s months", 1) % {"count": 1} == "mwezi 1"
    assert sw.ngettext("%(count)s month", "%(count)s months", 3) % {"count": 3} == "miezi 3"
    assert sw.ngettext("%(count)s year old", "%(count)s years old", 1) % {"count": 1} == "mwaka 1"
    assert sw.ngettext("%(count)s year old", "%(count)s years old", 10) % {"count": 10} == "miaka 10"
