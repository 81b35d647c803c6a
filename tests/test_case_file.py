"""The whole case file (cpcm render case-file): every record in order of `at`, read back with its
question labels in the chosen language, corrections with what they supersede, encrypted with
--out; the child's plan in the child's language; the conference report's Part I and decisions."""
from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from conftest import CANARY, CLINIC, consent_both, register, registration, shared_repo

from test_readback import BID, COMPREHENSIVE, FOLLOWUP, INITIAL, REVIEW

GOALS_MET = ["--check", "child_safe", "--check", "wellbeing_supported", "--check", "no_further_concerns",
             "--check", "monitoring_followups_done", "--check", "child_and_family_took_part"]
PLAN = {"reason": "initial",
        "goals": [{"term": "short", "goal": "Back in school", "need": "school every day",
                   "child_words": {"en": "You go to school every day.", "sw": "Utaenda shule kila siku."}},
                  {"term": "medium", "goal": "The child has a birth certificate", "need": "identity"}],
        "actions": [{"what": "Pay the school fees", "who": "caseworker", "by": "2026-12-15", "mode": "direct", "goal": "G1",
                     "child_words": {"en": "Your social worker pays the school fees.", "sw": "Mfanyakazi wako atalipa ada ya shule."}},
                    {"what": "List the household for cash transfers at the next targeting", "who": "other", "by": "2027-01-20",
                     "mode": "direct", "goal": "G1"},
                    {"what": "Walk to school with a friend", "who": "child", "by": "2026-12-01", "mode": "direct", "goal": "G1",
                     "child_words": "Tembea shuleni na rafiki."},
                    {"what": "Tell the registrar the birth details", "who": "family", "by": "2027-02-01", "mode": "direct",
                     "goal": "G2", "with_child": False,
                     "child_words": {"en": "Your family talks to the registrar.", "sw": "Familia yako itaongea na msajili."}}],
        "closure_criteria": ["in school a full term"], "contingency": "the aunt takes the child in",
        "participants": {"child": "yes", "caregivers": "yes"}}
# when each record happened: written in this order, but the follow-up happened before the review
AT = {"initial": "2026-11-02T10:00:00+03:00", "comprehensive": "2026-11-05T10:00:00+03:00",
      "bid": "2026-11-06T10:00:00+03:00", "plan": "2026-11-09T10:00:00+03:00", "consent": "2026-11-10T09:00:00+03:00",
      "refer": "2026-11-10T10:00:00+03:00", "review": "2026-11-20T10:00:00+03:00", "followup": "2026-11-12T10:00:00+03:00",
      "note": "2026-11-21T10:00:00+03:00", "update": "2026-11-22T08:00:00+03:00", "close": "2026-11-22T12:00:00+03:00",
      "readiness": "2026-11-21T09:00:00+03:00"}


def ok(result):
    assert result.code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory, repo_template):
    """One case (the canary child) with a record of every kind a worker writes, some written out of
    the order they happened in: (base, root, case_id, as_)."""
    with shared_repo(tmp_path_factory, repo_template, "casefile") as repo:
        base, root, as_ = repo.root.parent, repo.root, repo
        sup, amina = as_("sup"), as_("amina")
        ok(sup(*CLINIC))
        reg = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01"},
                           location=f"{CANARY} village", notes="found at the market")
        case_id = ok(amina("register", "--from-file", "-", "--json", "--at", "2026-11-01T09:00:00+03:00",
                           input=json.dumps(reg))).json()["case_id"]

        def write(args, data=None, at=None):
            return ok(amina(*args, *(["--at", at] if at else []), *(["--from-file", "-"] if data is not None else []),
                            input=json.dumps(data) if data is not None else None))

        write(("assess", case_id, "--type", "initial"), INITIAL, AT["initial"])
        write(("assess", case_id, "--type", "comprehensive"), COMPREHENSIVE, AT["comprehensive"])
        write(("assess", case_id, "--type", "best-interests"), BID, AT["bid"])
        write(("plan", case_id), PLAN, AT["plan"])
        ok(sup("approve", case_id, "plan", "--note", "fine"))
        consent_both(amina, case_id, "--until", "2027-06-30", "--at", AT["consent"])
        write(("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all"), at=AT["refer"])
        write(("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-12",
               "--expected-duration", "3mo", "--feedback", "seen on Monday"))
        write(("review", case_id), REVIEW, AT["review"])
        write(("followup", case_id), FOLLOWUP, AT["followup"])  # written after the review, happened before it
        write(("correct", case_id, "followup", "--set", "observations=the child was at school", "--reason", "note mistyped"))
        from cpcm.store import forms as form_defs
        benchmarks = {d["key"]: {item: "yes" for bench in d["benchmarks"] for item in bench["items"]}
                      for d in form_defs.scoring("readiness")["domains"]}
        write(("readiness", case_id), {"occasion": "review", "benchmarks": benchmarks}, AT["readiness"])
        write(("note", case_id, "--text", "the grandmother called"), at=AT["note"])
        write(("update", case_id, "--location", "Kondele, Kisumu", "--reason", "moved to the grandmother"), at=AT["update"])
        write(("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "the family carries on",
               "--summary", "back in school"), at=AT["close"])
        # the closure waits for a supervisor: the case stays open, its review clock runs (the child's plan shows it)
        yield base, root, case_id, as_


def records_in(text: str) -> list[str]:
    """The record IDs a case file lists, in its order."""
    return re.findall(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", text)


def test_case_file__every_record_in_order_of_at_with_labels(world):
    base, root, case_id, as_ = world
    amina = as_("amina")
    log = ok(amina("log", case_id, "--json")).json()
    text = ok(amina("render", "case-file", case_id)).stdout
    assert CANARY in text  # the name is in the document asked for
    listed = list(dict.fromkeys(r for r in records_in(text) if r in {e["record_id"] for e in log}))
    # every record, superseded ones too, each once as a heading, in order of `at` (then order written)
    headings = re.findall(r"^### \d+\. .*\n\n.* · ([0-9A-Z]{26})$", text, re.M)
    assert sorted(headings) == sorted(e["record_id"] for e in log)
    by_id = {e["record_id"]: e for e in log}
    from cpcm.clock import parse_datetime
    assert [parse_datetime(by_id[r]["at"]) for r in headings] == sorted(parse_datetime(by_id[r]["at"]) for r in headings)
    assert listed[0] == headings[0]
    kinds = [by_id[r]["kind"] for r in headings]
    for kind in ("registration", "assessment", "plan", "approval", "consent", "referral", "referral_update", "followup",
                 "review", "readiness", "note", "update", "closure"):
        assert kind in kinds, kind
    assert [e["what"] for e in log if e["kind"] == "readiness"] == ["review"]  # `log` says on what occasion it was measured
    assert "back in school" in text and "goals met" in text  # the closure, its reason in words
    # the follow-up (written after the review) comes before it; the correction after the review
    followups = [r for r in headings if by_id[r]["kind"] == "followup"]
    review = next(r for r in headings if by_id[r]["kind"] == "review")
    assert headings.index(followups[0]) < headings.index(review)
    # question labels of the forms, values in words
    assert "Is the child safe now?" in text or "safe" in text
    assert "I want to live with my grandmother" in text  # the child's views in the comprehensive assessment
    assert "Cucu's house please" in text  # the best-interests determination
    assert "kinship care" in text and "foster care" in text  # its options, in words
    assert "seen on Monday" in text  # the referral's outcome
    assert "keep visiting monthly" in text  # the review's decisions
    assert "Case plan, version 1" in text
    # the correction and what it supersedes
    original = next(e for e in log if e["kind"] == "followup" and e.get("superseded_by"))
    assert f"Corrects record {original['record_id']}" in text and "note mistyped" in text
    assert f"Corrected by record {original['superseded_by']}" in text
    # as Markdown quotes: the record list's own "> " is not escaped as a value would be
    assert f"\n> **Corrects record {original['record_id']}**" in text and "&gt; **" not in text
    # the update: the new value and the one before
    assert "Kondele, Kisumu" in text and f"{CANARY} village" in text


def test_case_file__kiswahili_labels_and_values(world):
    base, root, case_id, as_ = world
    text = ok(as_("amina")("render", "case-file", case_id, "--lang", "sw")).stdout
    assert "Faili la kesi" in text
    for english in ("Case file", "Registration", "Follow-up", "Corrected by", "home visit", "female", "kinship care",
                    "b1 travels safely", "eligibility known", "Readiness"):
        assert english not in text, english
    assert "Ufuatiliaji" in text and "ziara ya nyumbani" in text and "malezi ya jamaa" in text


def test_case_file__a_corrected_referral_and_its_update_keep_r1_and_a_keyworker_is_headed_in_words(cli, cli_as):
    """Headings: the referral and its outcome as first written keep their reference once the
    referral is corrected (the case knows it by the record in force in its place, fold.in_force),
    and a keyworker nomination is headed in words, not by its kind's code."""
    ok(cli_as("sup")(*CLINIC))
    case_id = register(cli)
    consent_both(cli, case_id)
    ok(cli("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all"))
    ok(cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-24", "--expected-duration", "3mo"))
    ok(cli("correct", case_id, "R1", "--set", "need=a full check-up", "--reason", "need mistyped"))
    ok(cli("assign", case_id, "--keyworker-name", "Grace A.", "--keyworker-role", "teacher", "--reason", "she trusts her"))
    ok(cli_as("sup")("assign", case_id, "--cover", "otieno", "--until", "2026-12-31"))
    for lang, referral, outcome, keyworker, cover in (
            ("en", "Referral R1 (County Clinic)", "Referral outcome R1", "Keyworker", "Cover by another worker"),
            ("sw", "Rufaa R1 (County Clinic)", "Matokeo ya rufaa R1", "Mhudumu mkuu wa mtoto",
             "Kushikiliwa kwa kesi na mfanyakazi mwingine")):
        headings = re.findall(r"^### \d+\. (.+)$", ok(cli("render", "case-file", case_id, "--lang", lang)).stdout, re.M)
        assert headings.count(referral) == 2 and headings.count(outcome) == 1, (lang, headings)
        assert keyworker in headings and cover in headings, (lang, headings)
        assert not [h for h in headings if h[:1].islower()], (lang, headings)  # no kind's code (keyworker, cover)


def test_case_file__checklists_in_words_in_the_document_s_language(world, sending, cli_as):
    """A closure's and a transfer request's checklists are printed in words (the closure report's and
    the transfer summary's, templates/_checklist_words.j2), in each language; never as codes."""
    base, root, case_id, as_ = world
    closure = {"en": ["The child is safe from harm.", "The child's care and wellbeing are supported."],
               "sw": ["Mtoto yuko salama dhidi ya madhara."]}
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            text = ok(as_("amina")("render", "case-file", case_id, "--lang", lang, "--format", fmt)).stdout
            for words in closure[lang]:
                assert words in unescape(text), (lang, fmt, words)
            for code in GOALS_MET[1::2]:
                assert code not in text, (lang, fmt, code)
    from test_transfer import REASON, consent

    amina = cli_as("amina")
    transferred = register(amina)
    consent(amina, transferred)
    ok(amina("transfer", transferred, *REASON, "--check", "all"))
    items = ("file_complete", "consent_recorded", "handover_plan_agreed", "child_and_family_told", "receiving_worker_named")
    for lang, words in (("en", "The file is complete."), ("sw", "Faili limekamilika.")):
        text = ok(amina("render", "case-file", transferred, "--lang", lang)).stdout
        assert words in text, lang
        assert not [code for code in items if code in text], lang


def test_case_file__html_printable_and_encrypted_with_out(world):
    base, root, case_id, as_ = world
    amina = as_("amina")
    html = ok(amina("render", "case-file", case_id, "--format", "html")).stdout
    assert "@page" in html and "A4" in html and html.count("<section") == len(ok(amina("log", case_id, "--json")).json())
    out = base / "tmp" / "file.html.age"
    result = ok(amina("render", "case-file", case_id, "--out", str(out), "--json")).json()
    assert result["encrypted"] and result["format"] == "html"
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    for part in CANARY.lower().split():
        assert part.encode() not in data.lower()
    from cpcm.crypto import cipher, identity
    plain = cipher.decrypt(data, identity.load(base / "keys" / "amina.txt", lambda: None).keys).decode()
    assert CANARY in plain and "<html" in plain
    # nothing of the child in plaintext anywhere on disk: the repository, the temp folder, home
    for path in base.rglob("*"):
        if path.is_file() and not path.is_symlink():
            lowered = path.read_bytes().lower()
            assert not any(part.lower().encode() in lowered for part in CANARY.split()), path


def test_child_plan__in_the_child_s_language_without_the_actions_the_child_has_no_part_in(world):
    base, root, case_id, as_ = world
    amina = as_("amina")
    review = next(i for i in ok(amina("due", "--within", "400", "--json")).json() if i["case_id"] == case_id and i["code"] == "review")
    from cpcm.render.env import date_words
    for fmt in ("md", "html"):
        sw = ok(amina("render", "child-plan", case_id, "--lang", "sw", "--format", fmt)).stdout
        en = ok(amina("render", "child-plan", case_id, "--lang", "en", "--format", fmt)).stdout
        # the child's words in each language; the old plain text is in the repository's language (en)
        assert "Utaenda shule kila siku." in sw and "Mfanyakazi wako atalipa ada ya shule." in sw
        assert "You go to school every day." in en and "Your social worker pays the school fees." in en
        for english in ("You go to school", "Your social worker pays", "The child has a birth certificate",
                        "Pay the school fees", "Walk to school", "Your family talks"):
            assert english not in sw, (fmt, english)
        # the goal without words in Kiswahili is counted, not printed in English
        assert "mambo" in sw or "jambo moja" in sw
        # left out: an officer's task with no words for the child, and an action marked with_child: no
        for text in (sw, en):
            assert "List the household" not in text and "registrar" not in text and "msajili" not in text
        # the next review: the review clock's date, as cpcm due has it
        day = review["due"][:10]
        assert date_words(day, "sw", weekday=True) in sw and date_words(day, "en", weekday=True) in en


def test_views__child_words_and_who_takes_part():
    from cpcm.render.views import child_words, in_child_plan

    assert child_words({"en": "Go", "sw": "Nenda"}, "sw") == "Nenda"
    assert child_words({"en": "Go"}, "sw") is None
    assert child_words("Go", "sw", "en") is None and child_words("Go", "en", "en") == "Go"
    assert in_child_plan({"who": "child"}) and not in_child_plan({"who": "child", "with_child": False})
    assert not in_child_plan({"who": "other", "what": "List the household"})
    assert in_child_plan({"who": "caseworker", "with_child": True})
    assert in_child_plan({"who": "family", "child_words": {"sw": "Bibi"}})


def _conference(minutes_cases, presentation=None):
    from cpcm.workflow.conferences import Conference

    nomination = {"case_id": "CP-AAAA-BBBB", "reason": "especially_difficult", "presentation": presentation, "worker": "amina",
                  "opened": "2026-01-12", "risk": "high", "stage": "implementation"}
    return Conference(id="CC-AAAA-BBBB", kind="external", date="2026-02-05T10:00", chair="sup", venue="Boardroom",
                      cases=(nomination,), minutes={"cases": minutes_cases})


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_conference_report__decisions_read_as_sentences_and_progress_is_filled(fmt):
    from datetime import date

    from cpcm.render import env, views
    from cpcm.store import policies

    policy = policies.load("kenya")
    decided = {"case": "CP-AAAA-BBBB", "summary": "Back with the grandmother since January, attending school",
               "discussion": "Progress is good.", "decisions": ["Reunification approved for 12 February 2026.",
                                                                  "School to waive levies for the first term."]}
    for lang in ("en", "sw"):
        text = env.render("conference-report", lang, fmt, views.conference_view(
            _conference([decided], presentation="Found at the market; in the home since January."), policy, lang,
            date(2026, 2, 5), {"amina": "Amina"}))
        assert ".;" not in text and "..;" not in text
        assert "Reunification approved for 12 February 2026. School to waive levies for the first term." in text
        row = next(line for line in text.splitlines() if "CP-AAAA-BBBB" in line and ("|" in line or "<td>" in line))
        # Part I: the progress column holds the presentation and the minutes' summary
        assert "Found at the market; in the home since January. Back with the grandmother since January, attending school." in row
        assert ("juu" if lang == "sw" else "high") in row  # the risk level in the document's language
    # nothing presented and no summary: the stage at nomination, in words
    bare = {"case": "CP-AAAA-BBBB", "discussion": "Progress is good.", "decisions": ["Approved"]}
    text = env.render("conference-report", "sw", fmt, views.conference_view(_conference([bare]), policy, "sw", date(2026, 2, 5), {}))
    row = next(line for line in text.splitlines() if "CP-AAAA-BBBB" in line and ("|" in line or "<td>" in line))
    assert "Wakati wa kupendekezwa: kutekeleza mpango." in row and "Approved." in text


def test_case_file__every_choice_of_the_shipped_forms_has_words():
    """A choice added to a form without words in templates/_values.j2 would print as a code."""
    from ruamel.yaml import YAML

    words = (Path(__file__).resolve().parents[1] / "templates" / "_values.j2").read_text(encoding="utf-8")
    codes = set(re.findall(r'^  "([a-z0-9_]+)": (?:_|pgettext)\(', words, re.M))
    forms = Path(__file__).resolve().parents[1] / "cpcm" / "forms"
    missing = set()
    for path in forms.glob("*.yaml"):
        definition = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        named = definition.get("choice_labels") or {}  # a list whose form names its values in words (the national categories)
        missing |= {str(code) for name, values in (definition.get("lists") or {}).items() if name not in named for code in values}
    missing = sorted(missing - codes)
    assert not missing, missing


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="chromium is not installed")
def test_case_file__html_prints_on_a4_in_chromium(world, tmp_path):
    """Headless Chromium opens the case file from disk (offline), logs no console message and
    prints it to PDF on A4 pages."""
    from test_reports_browser import chromium, console_messages

    base, root, case_id, as_ = world
    page = tmp_path / "case-file.html"
    ok(as_("amina")("render", "case-file", case_id, "--lang", "sw", "--out", str(page), "--plaintext"))
    pdf = tmp_path / "case-file.pdf"
    printing = chromium(tmp_path, page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")  # one run: it loads the page, then prints
    assert not console_messages(printing)
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), boxes  # A4 in points
    page.unlink()


def test_show_record__an_empty_list_the_record_keeps_reads_none_not_a_blank(world):
    """`cpcm show CASE closure`: the closure keeps which referrals and actions were open (none
    here and there); each line says so, no label is left with nothing after it."""
    base, root, case_id, as_ = world
    shown = ok(as_("amina")("show", case_id, "closure")).stdout
    assert not [line for line in shown.splitlines() if line.endswith(": ")], shown
    assert "open items.actions: " in shown, shown


def test_case_file__kiswahili_names_the_fields_a_referral_and_a_closure_keep(world):
    """The referral's shared urgency and plan, and the closure's referrals, were printed as their
    English field names ("urgency: routine", "plan:", "referrals:") in a Kiswahili case file."""
    base, root, case_id, as_ = world
    text = ok(as_("amina")("render", "case-file", case_id, "--lang", "sw")).stdout
    labels = set(re.findall(r"^\s*- \*\*([^*]+):\*\*", text, re.M))
    for english in ("urgency", "plan", "referrals", "sign offs", "readiness problems"):
        assert english not in labels, english
    assert "routine" not in text and "**uharaka:** ya kawaida" in text
    assert "**rufaa:** R1" in text


def test_case_file__a_referral_s_expected_duration_in_words_of_the_document_s_language(world):
    """An accepted referral's expected duration was printed as it is stored ('3mo') in the case file."""
    base, root, case_id, as_ = world
    for lang, words in (("en", "3 months"), ("sw", "miezi 3")):
        text = ok(as_("amina")("render", "case-file", case_id, "--lang", lang)).stdout
        assert "3mo" not in text and words in text, lang


def test_case_file__the_readiness_a_closure_keeps_in_words_with_its_domains(world):
    """The readiness a closure keeps was printed with English field names ('record id', 'at',
    'version', 'domains'), its time as stored ('2026-11-21T09:00:00+03:00') and its domains empty."""
    base, root, case_id, as_ = world
    text = ok(as_("amina")("render", "case-file", case_id, "--lang", "sw")).stdout
    closure = next(part for part in text.split("\n### ") if part.split("\n")[0].endswith(". Kufunga kesi"))
    labels = set(re.findall(r"^\s*- \*\*([^*]+):\*\*", closure, re.M))
    for english in ("record id", "at", "version", "domains", "maximum", "pass mark", "passed", "reasons"):
        assert english not in labels, english
    assert "2026-11-21T" not in closure and "21 Novemba 2026 09:00" in closure
    lines = closure.splitlines() + [""]
    for line, after in zip(lines, lines[1:]):  # a label alone heads its entries (1.) or its group's fields, indented below it
        if re.fullmatch(r"\s*- \*\*[^*]+:\*\* *", line):
            assert len(after) - len(after.lstrip()) > len(line) - len(line.lstrip()), f"a field printed empty: {line}"
    assert closure.count("**eneo:**") == 6  # every readiness domain, with its score


def test_case_file__the_readiness_a_closure_keeps_reads_under_its_own_heading(world):
    """The readiness a closure keeps followed the closure's feedback with no heading ('record: 01M...',
    'date', 'version', 'ready for closure', 'domains'), as if the closure's own; `cpcm show` names
    each by its group ('readiness.record id'). Its fields now read under the group's name, in
    both languages, and the closure's own answers stay where they were."""
    base, root, case_id, as_ = world
    for lang, heading, record, ready, summary in (("en", "readiness", "record", "ready for closure", "Closing summary"),
                                                  ("sw", "utayari", "rekodi", "tayari kufungwa", None)):
        text = ok(as_("amina")("render", "case-file", case_id, "--lang", lang)).stdout
        closure = next(part for part in text.split("\n### ") if part.split("\n")[0].endswith(
            (". Closure", ". Kufunga kesi")))
        group = re.search(rf"^- \*\*{heading}:\*\*\n((?: {{4}}.*\n)+)", closure, re.M)
        assert group, (lang, closure)
        inside = group.group(1)
        assert re.search(rf"^ {{4}}- \*\*{record}:\*\* [0-9A-Z]{{26}}$", inside, re.M), (lang, inside)
        assert f"    - **{ready}:** " in inside and re.search(r"^ {8}6\.$", inside, re.M), (lang, inside)  # its domains too
        outside = closure.replace(group.group(0), "")
        assert not re.search(rf"\*\*({record}|{ready}):\*\*", outside), (lang, outside)
        if summary:
            assert re.search(rf"^- \*\*{summary}[^*]*:\*\* back in school$", outside, re.M), closure


def test_case_file__fields_named_alike_in_two_groups_are_told_apart():
    """A received case's record printed 'code', 'name', 'reason' and 'reason' (msimbo, jina, sababu
    twice in Kiswahili): the agency it came from and the transfer form's reason lost their group,
    which `cpcm show CASE RECORD` names ('from agency.code', 'details.reason'). Each field of a
    group reads under the group's name, in both languages and both formats; a field of the record
    itself stays outside any group."""
    from datetime import date

    from cpcm.domain.records import flatten
    from cpcm.render import env, views
    from cpcm.service.context import load_case
    from memory_repo import MemoryRepo

    body = {"from_agency": {"code": "KSM-CCI", "name": "Kisumu Children's Home"}, "to_agency": "nkr-cci",
            "reason": "family moved to Nakuru", "reason_code": "relocation",
            "details": {"reason": "moved_out_of_area", "ongoing_needs": "school transfer"}}
    mem = MemoryRepo()
    ctx = mem.as_("amina")
    case = load_case(ctx, mem.register(ctx))
    entries = [{"record_id": "01M8NR1Z2TSBGG36QSEGH2Q901", "kind": "transfer_in", "at": "2026-11-20T10:00:00+03:00",
                "by": "amina", "fields": body, "answers": [{"field": k, "label": None, "value": v} for k, v in flatten(body).items()]}]
    words = {"en": ("from the agency", "code", "name", "to the agency", "Transfer form (Form 10A)", "reason",
                    "moved out of the area", "Ongoing needs"),
             "sw": ("kutoka shirika", "msimbo", "jina", "kwa shirika", "Fomu ya uhamisho (Fomu 10A)", "sababu",
                    "alihamia nje ya eneo", "Mahitaji yanayoendelea")}
    for lang, (agency, code, name, to, form, reason, moved, needs) in words.items():
        view = views.case_file_view(case, entries, lang, today=date(2026, 11, 23), names={"amina": "Amina"},
                                    agency={"code": "T", "name": "T"})
        md = env.render("case-file", lang, "md", view)
        assert (f"- **{agency}:**\n    - **{code}:** KSM-CCI\n    - **{name}:** Kisumu Children's Home\n"
                f"- **{to}:** nkr-cci\n") in md, (lang, md)
        assert f"- **{form}:**\n    - **{reason}:** {moved}\n    - **{needs}:** school transfer\n" in md, (lang, md)
        assert f"\n- **{reason}:** family moved to Nakuru\n" in md, (lang, md)  # the record's own reason, in no group
        html = unescape(env.render("case-file", lang, "html", view))
        for group, first, value in ((agency, code, "KSM-CCI"), (form, reason, moved)):
            assert re.search(rf"<tr><th>{re.escape(group)}</th><td><table class=\"facts answers\">\s*"
                             rf"<tr><th>{re.escape(first)}</th><td class=\"text\">{re.escape(value)}</td></tr>", html), (lang, group)


def test_case_file__the_readiness_domains_a_closure_keeps_in_words(world):
    """The domains of the readiness a closure keeps were printed as codes ('protection',
    'relationship', 'economic') in a Kiswahili case file; they read as the closure report names them."""
    base, root, case_id, as_ = world
    text = ok(as_("amina")("render", "case-file", case_id, "--lang", "sw")).stdout
    closure = next(part for part in text.split("\n### ") if part.split("\n")[0].endswith(". Kufunga kesi"))
    domains = re.findall(r"^\s*- \*\*eneo:\*\* (.+)$", closure, re.M)
    assert len(domains) == 6 and not {"protection", "relationship", "economic", "psychosocial"} & set(domains), domains
    assert "Uthabiti wa kiuchumi" in domains


def _english_names(value) -> set[str]:
    """Every key of a record body, at any depth, as the case file would print it without words
    for it (templates/_values.j2 macro `label`: the key with "_" as a space)."""
    if isinstance(value, dict):
        return {str(k).replace("_", " ") for k in value} | {n for v in value.values() for n in _english_names(v)}
    if isinstance(value, list):
        return {n for v in value for n in _english_names(v)}
    return set()


def _labels(text: str, fmt: str) -> set[str]:
    """The field labels a rendered case file prints (Markdown or HTML)."""
    pattern = r"^\s*- \*\*([^*]+):\*\*" if fmt == "md" else r"<tr><th>([^<]+)</th>"
    return {unescape(label) for label in re.findall(pattern, text, re.M)}


def test_case_file__kiswahili_names_the_fields_of_an_approval_a_follow_up_a_referral_and_a_conference():
    """A Kiswahili case file printed English field names where the record's form has no label:
    an approval of one's own request ('self approval'), a follow-up's and a review's --done
    ('actions done'), a referral's shared contact ('contact'), and the case's record of a conference
    ('conference kind', 'discussion', 'decisions', its actions' 'responsible', 'timeline', 'who',
    'goal', and 'child took part'); every field now has words in Kiswahili, in both formats."""
    from cpcm import service
    from cpcm.service import conferences
    from cpcm.workflow.referrals import CHECKS
    from memory_repo import MemoryRepo
    from test_conference import CLOSE_NOW, minutes_doc, minuted_with, planned_in
    from test_referral_letter import CLINIC, EXPLAINED

    mem = MemoryRepo(rules={"plan_approval": {"self_approval": True}})  # the agency's only supervisor writes and approves
    case_id = planned_in(mem, worker="sup")
    sup = mem.as_("sup")
    service.approve(sup, case_id, "plan", note="the only supervisor of the agency")
    service.followup(sup, case_id, FOLLOWUP, done=["A2"])
    service.review(sup, case_id, REVIEW, done=["A1"])
    service.service_add(sup, CLINIC)
    for giver in ("child", "caregiver"):
        service.consent(sup, case_id, {"purpose": "referral", "agency": "clinic", "given_by": giver, "status": "given",
                                       "explained": EXPLAINED})
    service.refer(sup, case_id, {"service": "clinic", "need": "treatment for malnutrition", "checks": dict.fromkeys(CHECKS[:4], True)})
    minutes = minutes_doc([case_id])
    minutes["cases"][0]["actions"][1].update(who="service", resources="bus fare to the office")
    conferences.close(mem.as_("sup", now=CLOSE_NOW), minuted_with(mem, case_id, cases=minutes["cases"]))
    later = mem.as_("sup", now="2026-12-01T10:00:00+03:00")
    records = service.load_records(later, case_id)
    kinds = {r.kind for r in records}
    assert {"approval", "followup", "review", "referral", "conference"} <= kinds, kinds
    english = set().union(*(_english_names(r.body) for r in records))
    for fmt in ("md", "html"):
        text = service.render(later, "case-file", case_id, lang="sw", fmt=fmt).text
        labels = _labels(text, fmt)
        for name in ("self approval", "actions done", "contact", "conference kind", "discussion", "decisions",
                     "responsible", "timeline", "who", "goal", "child took part", "mode", "resources"):
            assert name in english and name not in labels, (fmt, name)
        assert not labels & english, (fmt, sorted(labels & english))
        assert "mtoto alishiriki" in labels and "aliidhinisha ombi lake mwenyewe" in labels and "hatua zilizokamilika" in labels


def test_case_file__kiswahili_names_the_fields_cpcm_writes_without_a_form():
    """The fields of the kinds written without a form (a cover, a keyworker, a repair, a note's
    `seen` and `settles`, a retention decision, a transfer and its Form 10A details, a case taken in
    under another ID, the links between cases, a sync's conflicts) and those cpcm adds to a form's
    answers (a placement's setting and reunification, the actions from before a reopening a closure
    keeps) read in Kiswahili, each as docs/case-format.md describes the record, not as English names;
    so do the groups they are kept in, which head their fields (the transfer form, a placement's
    override, what a referral shared, the agency that received a case, a closure's open items)."""
    from datetime import date

    from cpcm.domain.records import flatten
    from cpcm.render import env, views
    from cpcm.service.context import load_case
    from memory_repo import MemoryRepo

    other, rid = "CP-6KG7-M9F9", "01M8NR1Z2TSBGG36QSEGH2Q9NV"
    bodies = {
        "cover": {"worker": "baraka", "until": "2026-03-01T23:59:59+03:00", "case_worker": "amina"},
        "keyworker": {"name": "Grace A.", "role": "teacher", "contact": "Kondele Primary School", "reason": "she trusts her",
                      "case_worker": "amina"},
        "note": {"text": "seen both visits", "seen": [rid], "settles": [rid]},
        "repair": {"reason": "saved with a bad character", "file": f"{rid}.note.yaml.age", "sha256": "9f2c"},
        "retention": {"decision": "keep", "until": "2031-01-01", "reason": "a court case is open"},
        "placement": {"setting": "family_based", "reunification": True,
                      "best_interests_override": {"reason": "no time for an assessment", "by": "sup"}},
        "referral": {"shared": {"medical": {"disability": "no"}}},
        "transfer": {"to": "recv", "recipients": ["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"],
                     "details": {"reason": "moved_out_of_area", "removed_by": "the court", "new_placement": "with an uncle",
                                 "case_manager_contact": "0700 000000", "household_strengths": "a farm",
                                 "ongoing_needs": "school fees", "final_assistance": "a bus fare",
                                 "new_services": "school bursary", "next_followup": "2027-01-10"}},
        "transfer_in": {"alias": other, "case_rewritten": True, "reserialised": [rid]},
        "transfer_ack": {"receiving_agency": {"code": "RECV", "name": "Receiving Home"}, "received_by": "otieno"},
        "case_link": {"merged_into": other, "sibling": other, "removed": "not her brother", "returned_as": other},
        "sync_conflict": {"code": "mandatory-reports-concurrent", "records": [rid], "fields": ["location"], "reported": [rid],
                          "authorities": ["police"]},
        "closure": {"open_items": {"referrals": [], "actions": [], "actions_before_reopening": ["A1"]}},
    }
    mem = MemoryRepo()
    ctx = mem.as_("amina")
    case = load_case(ctx, mem.register(ctx))
    entries = [{"record_id": f"01M8NR1Z2TSBGG36QSEGH2Q9{n:02d}", "kind": kind, "at": "2026-11-20T10:00:00+03:00", "by": "amina",
                "fields": body, "answers": [{"field": k, "label": None, "value": v} for k, v in flatten(body).items()]}
               for n, (kind, body) in enumerate(bodies.items())]
    english = set().union(*(_english_names(body) for body in bodies.values()))
    for fmt in ("md", "html"):
        text = env.render("case-file", "sw", fmt, views.case_file_view(case, entries, "sw", today=date(2026, 11, 23),
                                                                      names={"amina": "Amina", "sup": "Sue"}, agency={"code": "T", "name": "T"}))
        labels = _labels(text, fmt)
        assert not labels & english, (fmt, sorted(labels & english))
        assert {"mazingira ya malezi", "hadi", "funguo za shirika linalopokea", "Mamlaka ya kisheria iliyomwondoa mtoto",
                "kesi ya kaka au dada", "maamuzi ya kuripoti", "ulemavu", "iliamuliwa na"} <= labels, (fmt, sorted(labels))
        # the groups fields are kept in head them (views._grouped), in words too
        assert {"Fomu ya uhamisho (Fomu 10A)", "kuwekwa bila rekodi ya maslahi bora (uamuzi wa msimamizi)",
                "taarifa zilizotumwa pamoja na rufaa", "matibabu", "shirika linalopokea", "mambo yaliyobaki wazi"} <= labels, (fmt, sorted(labels))


def _printed(kind: str, field: str, label: str, values, lang: str, fmt: str, extra=None) -> dict[str, str]:
    """What a case file in `lang` prints for `field` (named `label` in that language) of records of
    `kind`, one record per value (value -> the printed text), as the case file's view reads it back."""
    from datetime import date

    from cpcm.domain.records import flatten
    from cpcm.render import env, views
    from cpcm.service.context import load_case
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    ctx = mem.as_("amina")
    case = load_case(ctx, mem.register(ctx))
    bodies = [{**(extra or {}), field: value} for value in values]
    entries = [{"record_id": f"01M8NR1Z2TSBGG36QSEGH2Q9{n:02d}", "kind": kind, "at": f"2026-11-20T10:{n:02d}:00+03:00",
                "by": "amina", "fields": body, "answers": [{"field": k, "label": None, "value": v} for k, v in flatten(body).items()]}
               for n, body in enumerate(bodies)]
    text = env.render("case-file", lang, fmt, views.case_file_view(case, entries, lang, today=date(2026, 11, 23),
                                                                  names={"amina": "Amina"}, agency={"code": "T", "name": "T"}))
    pattern = (rf"^\s*- \*\*{re.escape(label)}:\*\* (.+)$" if fmt == "md"
               else rf"<tr><th>{re.escape(label)}</th><td class=\"text\">([^<]*)</td></tr>")
    printed = [unescape(v) for v in re.findall(pattern, text, re.M)]
    assert len(printed) == len(bodies), (lang, fmt, printed)
    return dict(zip(values, printed))


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_case_file__a_placement_s_care_setting_in_words(fmt):
    """A placement's care setting, which cpcm adds to the form's answers, was printed as its code in
    a Kiswahili case file ('mazingira ya malezi: residential') and an English one; every setting of
    the policy's placement rule reads in words, as the placement's care type does."""
    from cpcm.domain.profiles import PLACEMENT_SETTINGS

    for lang, words in (("en", {"residential": "residential care", "family_based": "family-based alternative care",
                                "community_based": "community-based care", "family": "family"}),
                        ("sw", {"residential": "malezi ya kituo", "family_based": "malezi mbadala ya kifamilia",
                                "community_based": "malezi ya kijamii", "family": "familia"})):
        label = "care setting" if lang == "en" else "mazingira ya malezi"
        printed = _printed("placement", "setting", label, PLACEMENT_SETTINGS, lang, fmt, {"care_type": "kinship"})
        assert printed == words, (lang, printed)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_case_file__a_case_s_conference_record_names_its_kind_and_reason_in_words(fmt):
    """The case's record of a conference printed the conference's kind and the nomination's reason
    as codes ('aina ya mkutano: internal', 'sababu: especially_difficult'); every kind and reason
    reads in the words the conference documents (agenda, minutes, report) use."""
    from cpcm.workflow.conferences import KINDS, REASONS

    link = {"conference": "CC-5358-4SX5", "date": "2026-11-22"}
    for lang, kind_label, reason_label, kind, reason in (
            ("en", "kind of conference", "reason", "internal (staff only)", "especially difficult to resolve"),
            ("sw", "aina ya mkutano", "sababu", "wa ndani (wafanyakazi tu)", "kesi ngumu sana kutatua")):
        kinds = _printed("conference", "conference_kind", kind_label, KINDS, lang, fmt, {**link, "reason": "especially_difficult"})
        reasons = _printed("conference", "reason", reason_label, REASONS, lang, fmt, {**link, "conference_kind": "internal"})
        assert kinds["internal"] == kind and reasons["especially_difficult"] == reason, (lang, kinds, reasons)
        for code, words in {**kinds, **reasons}.items():
            assert words != code and "_" not in words, (lang, code, words)
    # the conference documents' words: one list (templates/_values.j2)
    from cpcm.render import env
    sw = env.translations("sw")
    assert sw.gettext("sub-county AAC/ACC") == kinds["aac"] and sw.gettext("reintegration decision") == reasons["reintegration_decision"]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_case_file__a_keyworker_s_role_and_a_sharing_s_purpose_in_words(fmt):
    """Who a keyworker outside the team is to the child ('teacher') and why data was shared
    ('export') were printed as codes in a Kiswahili case file; each reads in words, English too."""
    from cpcm.workflow.keyworker import ROLES

    for lang, role_label, purpose_label, teacher, export in (
            ("en", "who they are to the child", "purpose", "a teacher", "an export of case data"),
            ("sw", "uhusiano na mtoto", "madhumuni", "mwalimu", "kutoa taarifa za kesi")):
        roles = _printed("keyworker", "role", role_label, ROLES, lang, fmt, {"name": "Grace A.", "reason": "she trusts her"})
        purposes = _printed("sharing", "purpose", purpose_label, ["export"], lang, fmt, {"agency": "county-cpims"})
        assert roles["teacher"] == teacher and purposes == {"export": export}, (lang, roles, purposes)
        for code, words in roles.items():  # 'other' is its own English word
            assert "_" not in words and (lang == "en" or words != code), (lang, code, words)
        assert len(set(roles.values())) == len(ROLES), roles  # no two roles read alike


def test_case_file__html_shows_typed_brackets_as_text_never_as_markup(cli):
    """Text typed between < and > (a quoted phrase, a script) prints as typed in the HTML case file
    and the Markdown one: never dropped by a browser as a tag, never run."""
    case_id = register(cli)
    typed = "mother said <he will come back> & <script>alert(1)</script> <img src=x onerror=alert(2)>"
    assert cli("note", case_id, "--text", typed).code == 0
    html = cli("render", "case-file", case_id, "--format", "html")
    assert html.code == 0, html.stderr
    assert "<script>alert" not in html.stdout and "<img src=x" not in html.stdout and "<he will" not in html.stdout
    assert "mother said &lt;he will come back&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html.stdout, html.stdout
    assert typed in unescape(html.stdout)
    md = cli("render", "case-file", case_id)
    assert "mother said &lt;he will come back&gt; & &lt;script&gt;alert(1)&lt;/script&gt;" in md.stdout, md.stdout


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_case_file__a_record_written_a_day_or_more_after_its_date_says_when_and_by_whom(cli_as, fmt):
    """A correction keeps the time of what it corrects, and a record entered late from paper is dated
    back: the case file says when each was recorded and by whom, as `cpcm show` does ("recorded"), so
    that the worker who took a case over is not read as writing on a day before it was his; a record
    written when it happened reads as before, its date and its writer."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, "--at", "2026-11-03T09:00:00+03:00")
    ok(amina("note", case_id, "--text", "the aunt called", "--at", "2026-11-22T10:00:00+03:00"))  # 23 hours: not apart
    ok(amina("note", case_id, "--text", "home visit on paper", "--at", "2026-11-20T10:00:00+03:00"))  # entered late
    ok(sup("assign", case_id, "--worker", "otieno"))  # amina leaves
    later = cli_as("otieno", CPCM_NOW="2026-12-04T14:00:00+03:00")
    ok(later("correct", case_id, "registration", "--set", "location=Ward 6A, Kisumu East", "--reason", "ward misheard"))
    log = ok(later("log", case_id, "--json")).json()
    correction = next(e for e in log if e["kind"] == "registration" and e.get("supersedes"))
    paper, same_day = sorted((e for e in log if e["kind"] == "note"), key=lambda e: e["at"])
    assert correction["at"].startswith("2026-11-03")  # dated as the registration it corrects
    assert "recorded 2026-12-04 14:00" in ok(later("show", case_id, correction["record_id"])).stdout
    for lang, words in (("en", ("recorded 4 December 2026 14:00 by otieno", "recorded 23 November 2026 09:00 by amina",
                                "by amina")),
                        ("sw", ("ilirekodiwa tarehe 4 Desemba 2026 14:00 na otieno",
                                "ilirekodiwa tarehe 23 Novemba 2026 09:00 na amina", "na amina"))):
        rendered = ok(later("render", "case-file", case_id, "--format", fmt, "--lang", lang)).stdout
        text = unescape(re.sub(r"<[^>]+>", "", rendered))  # the HTML's lines as they read
        lines = {e["record_id"]: next(line for line in text.splitlines() if e["record_id"] in line and "·" in line)
                 for e in log}
        # shown where it happened, under the registration's date, and when and by whom it was written
        assert lines[correction["record_id"]].split("·")[0].strip() in ("3 November 2026 09:00", "3 Novemba 2026 09:00")
        assert words[0] in lines[correction["record_id"]], (lang, fmt, lines[correction["record_id"]])
        assert words[1] in lines[paper["record_id"]], (lang, fmt, lines[paper["record_id"]])
        # written when it happened, or less than a day after: its date and its writer, as before
        assert words[1].split(" ")[0] not in lines[same_day["record_id"]], (lang, fmt, lines[same_day["record_id"]])
        assert f"· {words[2]} ·" in lines[same_day["record_id"]], (lang, fmt, lines[same_day["record_id"]])


def test_case_file__a_record_typed_in_utc_just_after_local_midnight_is_given_in_the_agency_s_day_and_time(cli):
    # 21:30 UTC (a machine on UTC, or a time typed so) is 00:30 the next day in Nairobi, the agency's zone
    case_id = register(cli, "--at", "2026-11-20T10:00:00+03:00")
    ok(cli("note", case_id, "--text", "Called the school.", "--at", "2026-11-21T21:30:00+00:00"))
    text = ok(cli("render", "case-file", case_id)).stdout
    line = next(line for line in text.splitlines() if "00:30" in line or "21:30" in line)
    assert "22 November 2026 00:30" in line, line


def test_conference_report__closed_just_after_local_midnight_is_the_agency_s_day():
    from dataclasses import replace
    from datetime import date
    from zoneinfo import ZoneInfo

    from cpcm.render import views
    from cpcm.store import policies

    closed = replace(_conference([]), closed_at="2026-02-05T21:30:00+00:00", closed_by="sup")  # kept in UTC: 00:30 on 6 February
    view = views.conference_view(closed, policies.load("kenya"), "en", date(2026, 2, 6), {}, zone=ZoneInfo("Africa/Nairobi"))
    assert view["conference"]["closed_on"] == "2026-02-06"
