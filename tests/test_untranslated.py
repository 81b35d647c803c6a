"""`make untranslated` (scripts/untranslated.py): what a language still lacks in the form
definitions and the documents' catalog, and which wordings wait for a speaker's review (marked
`# review`). About 45 help texts of the forms had no Kiswahili and nothing listed them: a
Kiswahili blank form printed them in English, one by one as a worker came upon them."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from conftest import Cli

ROOT = Path(__file__).resolve().parents[1]


def tool():
    spec = importlib.util.spec_from_file_location("untranslated", ROOT / "scripts" / "untranslated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FORM = '''kind: demo
title: {en: Demo, sw: Mfano}
lists:
  answer: [yes, no]
choice_labels:
  answer:
    "yes": {en: "Yes, always"}
fields:
  - key: a
    type: text
    label: {en: A, sw: A}
    help: {en: "Only English."}
  - key: b
    type: text
    label: {en: B}
    help: {en: "Both.", sw: "Zote."}  # review
  - key: c
    type: text
    label: {en: C, sw: C}
    help:
      en: "Over lines."
      sw: "Mistari."   # review
  - key: d
    type: text
    label: {en: D, sw: D}
    help: {en: "Reviewed.", sw: "Imepitiwa."}
'''

CATALOG = '''msgid ""
msgstr ""
"Language: sw\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "empty"
msgstr ""

#, fuzzy
msgid "fuzzy"
msgstr "kitu"

# review: new wording
msgid "to review"
msgstr "ya kupitiwa"

msgid "done"
msgstr "imekwisha"
'''


def test_untranslated__lists_what_has_no_words_in_the_language_and_what_waits_for_review(tmp_path, capsys):
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "demo.yaml").write_text(FORM, encoding="utf-8")
    (tmp_path / "cpcm.po").write_text(CATALOG, encoding="utf-8")
    untranslated = tool()
    missing, review = untranslated.form_texts(tmp_path / "forms", "sw")
    assert missing == ["demo: choice_labels.answer.yes (line 7)", "demo: fields[a].help (line 12)",
                       "demo: fields[b].label (line 15)"]
    assert review == ["demo: fields[b].help (line 16)", "demo: fields[c].help (line 22)"]
    assert untranslated.catalog_messages(tmp_path / "cpcm.po") == (["empty", "fuzzy"], ["to review"])
    assert untranslated.main(["sw", "--forms", str(tmp_path / "forms"), "--catalog", str(tmp_path / "cpcm.po")]) == 0
    printed = capsys.readouterr().out
    assert "sw: 3 form text(s) with no 'sw'" in printed and "sw: 2 form text(s) waiting for a speaker's review" in printed
    assert "sw: 2 catalog message(s) untranslated or fuzzy" in printed and "  to review" in printed


def test_untranslated__finds_every_help_text_cpcm_reads_without_kiswahili():
    """The list agrees with the forms as cpcm reads them: each form's own fields (a form that
    extends another has the other's help texts as its own, listed once, under the other)."""
    from cpcm.store import codec, forms

    missing, _ = tool().form_texts(forms.HERE, "sw")
    listed = {re.sub(r"^(\S+): fields\[(.+)\]\.help \(line \d+\)$", r"\1 \2", m) for m in missing if ".help" in m}
    read = set()
    for path in sorted(forms.HERE.glob("*.yaml")):
        own = {str(raw.get("key")) for raw in codec.loads(path.read_bytes()).get("fields") or () if isinstance(raw, dict)}
        for field in forms.load(path.stem, None).fields:
            if field.key in own and field.help and not field.help.get("sw"):
                read.add(f"{path.stem} {field.key}")
    assert listed == read and read


def test_kiswahili_blank_form__prints_in_english_only_the_help_texts_the_list_names(cli: Cli):
    """`cpcm form blank registration --lang sw` printed five help texts in English; the short
    ones now have Kiswahili (marked for review), and those left in English are the ones
    `make untranslated` lists."""
    from cpcm.store import forms

    blank = cli("form", "blank", "registration", "--lang", "sw")
    assert blank.code == 0, blank.stderr
    definition = forms.load("registration", None)
    english = {f.key for f in definition.fields if f.help.get("en") and f"#   {f.help['en'].splitlines()[0]}" in blank.stdout
               and not f.help.get("sw")}
    missing, review = tool().form_texts(forms.HERE, "sw")
    assert english == {m.split("[")[1].split("]")[0] for m in missing if m.startswith("registration: ")}
    assert len(english) <= 1, english  # the risk levels' response times: left for a speaker
    assert "Ukiacha wazi, ni wewe." in blank.stdout  # worker: "Defaults to you."
    assert {m.split("[")[1].split("]")[0] for m in review if m.startswith("registration: ")} >= {
        "child.date_of_birth", "child.birth_certificate", "registration_place", "worker"}
