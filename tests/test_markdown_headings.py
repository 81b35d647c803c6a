"""Every shipped Markdown document has a blank line before each of its headings: a heading glued
to the line above it (jinja's trim_blocks eats the newline after a block tag that ends a line) is
not a heading in most Markdown readers. Rendered in English and Kiswahili for cases rich enough to
take the optional parts (Form 10A in a transfer, sign-offs and feedback at closure, a conference
with its report's due time), with the fixtures the other rendering tests use."""
from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import SCCO, reunified

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
HEADING = re.compile(r"^#{1,6} ")
LANGS = ("en", "sw")


def unspaced(text: str) -> list[str]:
    """The headings of a Markdown text that do not follow a blank line (nor start it), each with
    the line above it."""
    lines = text.splitlines()
    return [f"{lines[i - 1]!r} / {line!r}" for i, line in enumerate(lines) if i and HEADING.match(line) and lines[i - 1].strip()]


def shipped() -> set[str]:
    """The shipped Markdown templates but the shared pieces (_*.md): the documents, and the reports
    as reports/<name>."""
    return {str(p.relative_to(TEMPLATES).with_suffix("")) for p in TEMPLATES.rglob("*.md")
            if not p.name.startswith("_") and p.name != "README.md"}


def check(found: dict, name: str, lang: str, text: str, extra: str = "") -> None:
    assert text.lstrip().startswith("#"), (name, lang, extra, text[:200])
    found.setdefault(name, []).extend(f"{name}{extra} ({lang}): {line}" for line in unspaced(text))


def test_unspaced__finds_a_glued_heading_only():
    assert unspaced("# Title\n\ntext\n## Part I\n\n## Part II\n") == ["'text' / '## Part I'"]
    assert unspaced("# Title\n\n- a #hashtag\n\n### 1. One\n") == []


def test_markdown__every_case_document_has_a_blank_line_before_each_heading(kenya, team, tmp_env):
    """The kenya profile: a case closed with the SCCO's and the ACC's sign-offs, the child's and
    the caregiver's feedback and a readiness record; another transferred with Form 10A."""
    from test_kenya_closure import FORM_10A, TRANSFER, kenya_transfer_case
    from test_readiness import KENYA_GOALS_MET, answers, record

    amina, sup = kenya("amina"), kenya("sup")
    closed = reunified(kenya, sign_off=False)
    assert record(amina, closed, answers()).code == 0
    assert sup("sign-off", closed, "--for", "closure", "--party", "acc", "--name", "Nyalenda ACC", "--title",
               "Alternative care committee", "--date", "2026-11-18").code == 0
    assert sup("sign-off", closed, *SCCO).code == 0
    done = amina("close", closed, "--reason", "goals_met", *KENYA_GOALS_MET[:-4], "--child-feedback", "good",
                 "--caregiver-feedback", "helped", "--explain-open", "none", "--summary", "back home", "--set", "notes=none left")
    assert done.code == 0, done.stderr
    assert sup("approve", closed, "closure").code == 0
    moved = kenya_transfer_case(kenya, team)
    asked = amina("transfer", moved, *TRANSFER, "--from-file", "-", input=json.dumps(FORM_10A))
    assert asked.code == 0, asked.stderr
    assert sup("approve", moved, "transfer").code == 0
    assert amina("transfer", moved, *TRANSFER, "--out", str(tmp_env / "k.age")).code == 0
    found: dict = {}
    for lang in LANGS:
        for name, case_id in (("closure-report", closed), ("case-plan", closed), ("child-plan", closed),
                              ("case-file", closed), ("case-file", moved), ("transfer-summary", moved),
                              ("child-file", closed), ("child-file", moved)):
            result = sup("render", name, case_id, "--lang", lang, "--format", "md")
            assert result.code == 0, (name, result.stderr)
            check(found, name, lang, result.stdout)
    assert set(found) == {"closure-report", "case-plan", "child-plan", "case-file", "transfer-summary", "child-file"}
    assert not [line for lines in found.values() for line in lines], found


def test_markdown__every_shipped_markdown_template_has_a_blank_line_before_each_heading(sending, receiving, cli_as,
                                                                                         tmp_path, cli):
    """Every shipped Markdown template, each rendered here: the inter-agency closure and transfer
    (test_render_closure's cases), a referral letter, the five reports, a conference's four
    documents and every printable form."""
    from cpcm import service
    from cpcm.service import conferences
    from memory_repo import MemoryRepo
    from test_conference import CLOSE_NOW, LATER, MEMBERS, conference_in, member, minutes_doc, planned_in
    from test_form_print import PAPER
    from test_render_closure import closed_case, transferred_case

    amina = cli_as("amina")
    found: dict = {}
    closed = closed_case(amina, cli_as)
    moved = transferred_case(amina, cli_as, receiving, tmp_path)
    for lang in LANGS:
        for name, case_id, *ref in (("closure-report", closed), ("case-plan", closed), ("child-plan", closed),
                                    ("case-file", closed), ("referral-letter", closed, "R1"), ("transfer-summary", moved),
                                    ("case-file", moved), ("child-file", closed), ("child-file", moved)):
            result = amina("render", name, case_id, *ref, "--lang", lang, "--format", "md")
            assert result.code == 0, (name, result.stderr)
            check(found, name, lang, result.stdout)
    for report in ("caseload", "statistics", "timeliness", "placements", "readiness", "referrals", "complaints", "retention"):  # in the repository's language only
        result = cli_as("sup")("report", report, "--format", "md")
        assert result.code == 0, (report, result.stderr)
        check(found, f"reports/{report}", "en", result.stdout)
    mem = MemoryRepo()
    cases = [planned_in(mem, f"Test Child {n}") for n in range(2)]
    sup = mem.as_("sup")
    conf = conference_in(sup)
    for case_id in cases:
        conferences.add_case(sup, conf, case_id, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc(cases))
    conferences.close(closer, conf)
    later = mem.as_("sup", now=LATER)
    for lang in LANGS:
        for name in ("agenda", "minutes", "conference-report", "form-5"):
            check(found, name, lang, service.render(later, name, conf, lang=lang, fmt="md").text)
        for form in PAPER:
            printed = cli("form", "print", form, "--lang", lang, "--profile", "kenya", "--format", "md")
            assert printed.code == 0, printed.stderr
            check(found, "form-print", lang, printed.stdout, f" {form}")
    assert set(found) == shipped(), shipped() ^ set(found)  # a new Markdown template is rendered here too
    assert not [line for lines in found.values() for line in lines], found
