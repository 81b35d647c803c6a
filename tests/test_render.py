"""Rendering documents: golden files for the case plan and the child's plan (en, sw; Markdown
and HTML), the sandbox and StrictUndefined, and `cpcm render --out` (encrypted unless
--plaintext), agency template overrides.

The golden files in tests/golden/ are reviewed like code. After a deliberate change to a
template or a view, regenerate them and read the diff before committing:

    CPCM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_render.py

The case ID (random) is replaced by CP-XXXX-XXXX in the golden files; record IDs never appear
in the documents.
"""
from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest

from conftest import CANARY, register

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPCM_UPDATE_GOLDEN") == "1"
CASE_ID = re.compile(r"CP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")

INITIAL = {
    "safe": "yes",
    "basic_needs": {"food": "no", "shelter": "yes", "medical": "unknown"},
    "risk": "high",
    "interim_plan_needed": False,
    "outcome": "proceed",
    "child_views": "Wants to stay with her grandmother and go back to school.",
}
COMPREHENSIVE = {
    "dimensions": {
        "physical": {"risks": "Often hungry; missed two meals a day.", "rating": 2},
        "intellectual": {"risks": "Out of school since July.", "strengths": "Reads well for her age.", "rating": 2},
        "family_relationships": {"strengths": "Close to her grandmother.", "rating": 3},
    },
    "child_views": "I want to go back to school and stay with Cucu.",
    "outcome_explained_to_child": "yes",
    "consulted": ["child", "caregivers", "school"],
    "needs": ["to eat enough every day", "to be back in school", "to feel safe at home"],
}
PLAN = {
    "reason": "initial",
    "goals": [
        {"id": "G1", "term": "short", "goal": "Neema eats three meals a day at home.",
         "need": "to eat enough every day",
         "child_words": {"en": "You will have enough food every day.", "sw": "Utapata chakula cha kutosha kila siku."}},
        {"id": "G2", "term": "medium", "goal": "Neema is back in school and attends every day.",
         "need": "to be back in school", "child_words": {"en": "You will go back to school.", "sw": "Utarudi shuleni."}},
    ],
    "permanency_goal": "Neema stays in the care of her grandmother.",
    "actions": [
        {"what": "Enrol the household in the cash transfer programme.", "who": "service",
         "who_detail": "Sub-county children's office", "by": "2026-12-15", "mode": "referral", "goal": "G1",
         "child_words": {"en": "They will help your grandmother buy food.", "sw": "Watamsaidia bibi yako kununua chakula."}},
        {"what": "Home visit to check on food and safety.", "who": "caseworker", "by": "2026-12-01",
         "mode": "direct", "goal": "G1", "with_child": True},
        {"what": "Re-admit Neema to Nyalenda Primary School; pay for the uniform.", "who": "family",
         "who_detail": "Grandmother", "by": "2027-01-05", "mode": "direct", "goal": "G2",
         "child_words": {"en": "Your grandmother will take you to school and get your uniform.",
                         "sw": "Bibi yako atakupeleka shuleni na kukununulia sare."}},
        {"what": "Attend school every day and tell the teacher when something is wrong.", "who": "child",
         "by": "2027-01-05", "mode": "direct", "goal": "G2", "child_words": "Go to school every day."},  # one plain text: in the repository's language (en)
        {"what": "Join the after-school reading club.", "who": "child", "by": "2027-01-31", "mode": "direct"},
    ],
    "review_date": "2027-02-22",
    "closure_criteria": ["Neema has attended school for a full term.", "The household has a steady source of food."],
    "contingency": ("If the grandmother falls ill, the caseworker arranges a temporary placement with the aunt in "
                    "Kondele (0712 345 678) after an assessment.\nIf you feel unsafe, tell your teacher. "
                    "Call 116 at any time, day or night."),
    "participants": {"child": "yes", "caregivers": "yes", "others": "class teacher"},
    "child_copy_given": True,
    "notes": "The grandmother asked for the visits to be on Saturdays.",
}
DOCUMENTS = [(doc, lang, fmt) for doc in ("case-plan", "child-plan") for lang in ("en", "sw") for fmt in ("md", "html")]


def planned_case(cli, cli_as, approve: bool = True, name: str = "Neema Achieng Otieno", plan_overrides: dict | None = None) -> str:
    """A registered, assessed case with a plan (approved by the supervisor unless told not)."""
    case_id = register(cli, "--at", "2026-11-02T10:00:00+03:00",
                       child={"name": name, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    steps = [
        ("assess", case_id, "--type", "initial", "--from-file", "-", "--at", "2026-11-03T09:30:00+03:00", INITIAL),
        ("assess", case_id, "-t", "comprehensive", "--from-file", "-", "--at", "2026-11-09T11:00:00+03:00", COMPREHENSIVE),
        ("plan", case_id, "--from-file", "-", "--at", "2026-11-16T14:00:00+03:00", dict(PLAN, **(plan_overrides or {}))),
    ]
    for *args, data in steps:
        result = cli(*args, input=json.dumps(data))
        assert result.code == 0, result.stderr
    if approve:
        approved = cli_as("sup")("approve", case_id, "plan", "--at", "2026-11-18T08:00:00+03:00")
        assert approved.code == 0, approved.stderr
    return case_id


def normalise(text: str) -> str:
    return CASE_ID.sub("CP-XXXX-XXXX", text)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path.name}: run with CPCM_UPDATE_GOLDEN=1 to make it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), f"golden/{name}", "rendered", lineterm="", n=1)
        raise AssertionError(f"{name} differs from the rendered document (CPCM_UPDATE_GOLDEN=1 to accept the change):\n"
                             + "\n".join(list(diff)[:40]))


# -- golden files --------------------------------------------------------------------------------
@pytest.fixture
def planned(cli, cli_as):
    return planned_case(cli, cli_as)


def test_render__matches_the_golden_files(cli, planned):
    failures = []
    for document, lang, fmt in DOCUMENTS:
        result = cli("render", document, planned, "--lang", lang, "--format", fmt)
        assert result.code == 0, result.stderr
        try:
            check_golden(f"{document}.{lang}.{fmt}", normalise(result.stdout))
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_render__a_plan_waiting_for_approval_says_it_is_not_in_force(cli, cli_as):
    case_id = planned_case(cli, cli_as, approve=False)
    worker_copy = cli("render", "case-plan", case_id)
    assert worker_copy.code == 0, worker_copy.stderr
    assert "> **Not in force.** Waiting for a supervisor's approval." in worker_copy.stdout
    assert "This plan is in force" not in worker_copy.stdout
    child_copy = cli("render", "child-plan", case_id, "--lang", "sw")
    assert "Mpango huu bado haujakamilika." in child_copy.stdout
    golden = (GOLDEN / "case-plan.en.md").read_text(encoding="utf-8")
    assert "Approved on 18 November 2026 by sup. This plan is in force." in golden


def test_render__a_decision_just_after_local_midnight_is_dated_the_agency_s_day(cli, cli_as):
    # 00:30 in Nairobi is 21:30 UTC the day before: the fold keeps the decision's time in UTC, the
    # plan gives its day in the agency's zone, as `cpcm show` does ("A time is never UTC presented as local")
    approved = planned_case(cli, cli_as, approve=False)
    assert cli_as("sup")("approve", approved, "plan", "--at", "2026-11-18T00:30:00+03:00").code == 0
    assert "Approved on 18 November 2026 by sup." in cli("render", "case-plan", approved).stdout
    assert "Umeidhinishwa tarehe 18 Novemba 2026" in cli("render", "case-plan", approved, "--lang", "sw").stdout
    returned = planned_case(cli, cli_as, approve=False)
    assert cli_as("sup")("reject", returned, "plan", "--note", "add the school", "--at", "2026-11-18T00:30:00+03:00").code == 0
    assert "Returned by the supervisor on 18 November 2026." in cli("render", "case-plan", returned).stdout


def test_render__a_plan_written_in_utc_before_the_agency_set_its_zone_is_dated_the_local_day(cli, cli_as):
    # a plan typed with a UTC time (a machine on UTC, before `cpcm config set timezone`): 21:30 UTC is 00:30 in Nairobi
    case_id = planned_case(cli, cli_as, approve=False)
    later = dict(PLAN, reason="review")
    assert cli("plan", case_id, "--from-file", "-", "--at", "2026-11-19T21:30:00+00:00", input=json.dumps(later)).code == 0
    text = cli("render", "case-plan", case_id).stdout
    assert "written on 20 November 2026 by amina" in text, text


def test_render__a_name_ending_in_a_full_stop_takes_no_second_one(cli, cli_as, tmp_env):
    """A supervisor known as "Wanjiku M." approves: the documents say "by Wanjiku M. This plan is in
    force", not "by Wanjiku M.. This plan…"."""
    from conftest import make_identity

    recipient = make_identity(tmp_env / "keys" / "sup2.txt")
    added = cli_as("sup")("team", "add", "sup2", "--role", "supervisor", "--recipient", recipient, "--name", "Wanjiku M.")
    assert added.code == 0, added.stderr
    case_id = planned_case(cli, cli_as, approve=False)
    approved = cli_as("sup", CPCM_IDENTITY=str(tmp_env / "keys" / "sup2.txt"))(
        "approve", case_id, "plan", "--at", "2026-11-18T08:00:00+03:00")
    assert approved.code == 0, approved.stderr
    for fmt in ("md", "html"):
        shown = cli("render", "case-plan", case_id, "--format", fmt).stdout
        assert "by Wanjiku M. This plan is in force." in shown, shown
        assert "M.." not in shown


def test_render__uses_the_latest_plan_version(cli, cli_as, planned):
    second = dict(PLAN, reason="correction", goals=[dict(PLAN["goals"][0], goal="Neema eats at school and at home.")],
                  actions=PLAN["actions"][:2])
    recorded = cli("plan", planned, "--from-file", "-", "--at", "2026-11-20T10:00:00+03:00", input=json.dumps(second))
    assert recorded.code == 0, recorded.stderr
    shown = cli("render", "case-plan", planned).stdout
    assert "version 2, a correction of the previous version" in shown
    assert "### G1. Neema eats at school and at home." in shown
    assert "Waiting for a supervisor's approval" in shown
    assert "G2." not in shown


def test_render__the_plans_give_the_review_date_cpcm_due_has_after_a_later_review_moved_it(cli, cli_as):
    """The plan set 10 December; a review on 20 November set the next one for 1 February: the
    worker's and the child's copies said 10 December (the plan's own date), cpcm due 1 February."""
    case_id = planned_case(cli, cli_as, plan_overrides={"review_date": "2026-12-10"})
    review = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
              "decisions": ["continue the plan"], "outcome": "continue", "next_review": "2027-02-01"}
    reviewed = cli("review", case_id, "--from-file", "-", "--at", "2026-11-20T10:00:00+03:00", input=json.dumps(review))
    assert reviewed.code == 0, reviewed.stderr
    due = [i["due"][:10] for i in cli("show", case_id, "--json").json()["due"] if i["code"] == "review"]
    assert due == ["2027-02-01"]
    worker_copy = cli("render", "case-plan", case_id).stdout
    assert "- **Review:** Monday 1 February 2027 (the date written in the plan: 10 December 2026)" in worker_copy
    assert "The plan will be reviewed on **Monday 1 February 2027**" in worker_copy
    html = cli("render", "case-plan", case_id, "--format", "html").stdout
    assert "<tr><th>Review</th><td>Monday 1 February 2027 (the date written in the plan: 10 December 2026)</td></tr>" in html
    assert "We will meet again on **Monday 1 February 2027**." in cli("render", "child-plan", case_id).stdout
    # the summary of a transfer: test_render__the_transfer_summary_gives_the_next_review_the_case_had_when_it_left
    # before the review, the child's copy keeps the plan's own earlier date, the worker's the clock's with the plan's beside it
    fresh = planned_case(cli, cli_as, plan_overrides={"review_date": "2026-12-10"})
    assert "We will meet again on **Thursday 10 December 2026**." in cli("render", "child-plan", fresh).stdout
    assert "- **Review:** Thursday 18 February 2027 (the date written in the plan: 10 December 2026)" in \
        cli("render", "case-plan", fresh).stdout


def test_render__the_transfer_summary_gives_the_next_review_the_case_had_when_it_left(cli, cli_as, sending, tmp_env):
    """A review moved the next one from the plan's 10 December to 1 February: the summary of the
    transfer asked for gave 1 February, but once the bundle was sent (the case left, and no
    review clock runs for it) it gave the plan's own 10 December."""
    case_id = planned_case(cli, cli_as, plan_overrides={"review_date": "2026-12-10"})
    review = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
              "decisions": ["continue the plan"], "outcome": "continue", "next_review": "2027-02-01"}
    reviewed = cli("review", case_id, "--from-file", "-", "--at", "2026-11-20T10:00:00+03:00", input=json.dumps(review))
    assert reviewed.code == 0, reviewed.stderr
    overridden = cli_as("sup")("consent", case_id, "--override", "--purpose", "transfer", "--agency", "recv", "--basis",
                               "best_interests", "--reason", "the county office takes over")
    assert overridden.code == 0, overridden.stderr
    transfer = ("transfer", case_id, "--to", "recv", "--reason", "the family moved", "--reason-code", "relocation", "--check", "all",
                "--out", str(tmp_env / "bundle.age"), "--json")
    assert cli(*transfer).json()["kind"] == "transfer_request"
    said = "Plan version 1; next review 1 February 2027 (the date written in the plan: 10 December 2026)."
    assert said in cli("render", "transfer-summary", case_id).stdout
    assert cli_as("sup")("approve", case_id, "transfer").code == 0
    sent = cli(*transfer)
    assert sent.code == 0 and sent.json()["kind"] == "transfer", sent.stderr
    assert cli("show", case_id, "--json").json()["status"] == "transferred"
    assert said in cli("render", "transfer-summary", case_id).stdout
    html = cli("render", "transfer-summary", case_id, "--format", "html").stdout
    assert "next review 1 February 2027 (the date written in the plan: 10 December 2026).</p>" in html


# -- the environment: strict and sandboxed ---------------------------------------------------------
def test_env__a_missing_variable_raises_instead_of_rendering_a_blank():
    from jinja2 import UndefinedError

    from cpcm.render.env import environment

    env = environment()
    with pytest.raises(UndefinedError):
        env.from_string("Dear {{ child_name }},").render({})
    with pytest.raises(UndefinedError):
        env.from_string("{% if plan.notes %}x{% endif %}").render({"plan": {}})
    with pytest.raises(UndefinedError):
        env.from_string("{{ plan.missing | upper }}").render({"plan": {"notes": "n"}})


def test_env__a_view_model_without_a_key_fails_the_shipped_template():
    from datetime import date

    from cpcm.render.env import TemplateFailed, render
    from cpcm.render.views import case_plan_view

    view = case_plan_view(*_case_and_plan(), "en", today=date(2026, 11, 23))
    assert render("case-plan", "en", "md", view).startswith("# Case plan: Neema Achieng")
    del view["plan"]["contingency"]
    with pytest.raises(TemplateFailed) as failed:
        render("case-plan", "en", "md", view)
    assert failed.value.exit_code == 7 and "case-plan.md, line" in failed.value.message
    assert "contingency" in failed.value.message


def test_env__the_word_lists_are_read_and_an_agency_s_broken_one_is_named_by_its_template(tmp_path):
    """`code_words` and `field_words` read their word list the same way (`_word_list`): the shipped
    words, and an agency's list of another shape refused as its template (exit 7), never with its words."""
    from cpcm.render.env import TemplateFailed, code_words, field_words

    assert code_words("en")["mother"] == "mother" and code_words("sw")["mother"] == "mama"
    assert all(isinstance(words, dict) for words in field_words("en").values()) and "reason" in field_words("en")
    root = tmp_path / "repo"
    (root / ".cpcm" / "templates").mkdir(parents=True)
    (root / ".cpcm" / "templates" / "_choices.j2").write_text("{% set choice = ['mother'] %}\n")
    (root / ".cpcm" / "templates" / "_values.j2").write_text("{% set codes = {} %}{% set by_field = {'reason': 'x'} %}\n")
    for read, template in ((code_words, "_choices.j2"), (field_words, "_values.j2")):
        with pytest.raises(TemplateFailed) as failed:
            read("en", root)
        assert failed.value.exit_code == 7 and failed.value.message.startswith(f"template {template}"), failed.value.message
        assert "mother" not in failed.value.message


def test_env__the_sandbox_refuses_python_internals():
    from jinja2.exceptions import SecurityError

    from cpcm.render.env import environment

    env = environment()
    for source in ("{{ ().__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
                   "{{ cycler.__init__.__globals__ }}", "{{ plan.__class__ }}"):
        with pytest.raises(SecurityError):
            env.from_string(source).render({"plan": {"a": 1}})
    with pytest.raises(SecurityError):  # the data a template is given cannot be changed
        env.from_string("{{ plan.update({'a': 2}) }}").render({"plan": {"a": 1}})


def test_env__html_is_escaped_and_markdown_escapes_raw_html(tmp_path):
    from cpcm.render.env import environment

    root = tmp_path / "repo"
    (root / ".cpcm" / "templates").mkdir(parents=True)
    (root / ".cpcm" / "templates" / "x.en.html").write_text("<p>{{ name }}</p>")
    (root / ".cpcm" / "templates" / "x.en.md").write_text("{{ name }}")
    env = environment(root)
    assert env.get_template("x.en.html").render(name="<b>&</b>") == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"
    assert env.get_template("x.en.md").render(name="<b>&</b>") == "&lt;b&gt;&&lt;/b&gt;"  # raw HTML in Markdown is text


def test_env__a_shared_piece_s_macro_is_escaped_as_the_document_it_writes_into(tmp_path):
    """A macro of a shared `.j2` piece writes what a worker typed into the document: into an HTML
    page it is HTML-escaped (compiled unescaped, its output would reach the page as markup), into a
    Markdown one escaped for Markdown, and the same piece serves both in one process."""
    from cpcm.render.env import environment

    root = tmp_path / "repo"
    folder = root / ".cpcm" / "templates"
    folder.mkdir(parents=True)
    (folder / "_piece.j2").write_text("{% macro said(v) %}{{ v }}{% endmacro %}")
    (folder / "y.en.html").write_text('{% import "_piece.j2" as p %}<td>{{ p.said(text) }}</td>')
    (folder / "y.en.md").write_text('{% import "_piece.j2" as p %}{{ p.said(text) }}')
    typed = "mother said <he will come back> & <script>x</script>"
    for _ in range(2):  # compiled once for each: neither reuses the other's code
        html = environment(root, fmt="html").get_template("y.en.html").render(text=typed)
        assert html == "<td>mother said &lt;he will come back&gt; &amp; &lt;script&gt;x&lt;/script&gt;</td>", html
        md = environment(root, fmt="md").get_template("y.en.md").render(text=typed)
        assert md == "mother said &lt;he will come back&gt; & &lt;script&gt;x&lt;/script&gt;", md


def test_date_words__in_english_and_kiswahili():
    from cpcm.render.env import date_words

    assert date_words("2026-12-01", "en") == "1 December 2026"
    assert date_words("2026-12-01T09:00:00+03:00", "sw") == "1 Desemba 2026"
    assert date_words("2027-02-22", "en", weekday=True) == "Monday 22 February 2027"
    assert date_words("2027-02-22", "sw", weekday=True) == "Jumatatu, tarehe 22 Februari 2027"
    assert date_words("2026-08-09", "sw", weekday=True) == "Jumapili, tarehe 9 Agosti 2026"
    assert date_words("2026-12-01", "fr") == "2026-12-01"
    with pytest.raises(ValueError):
        date_words("soon", "en")


def test_render__a_template_error_names_the_template_and_no_personal_data(cli, cli_as, repo):
    case_id = planned_case(cli, cli_as, name=CANARY)
    agency = repo / ".cpcm" / "templates"
    agency.mkdir(parents=True)
    (agency / "case-plan.en.md").write_text("{{ case.name }} {{ case.nickname }}\n")
    missing = cli("render", "case-plan", case_id)
    assert missing.code == 7
    assert "case-plan.en.md" in missing.stderr and "nickname" in missing.stderr
    assert CANARY.split()[0].lower() not in (missing.stdout + missing.stderr).lower()
    (agency / "case-plan.en.md").write_text("{{ case.name }} {{ ().__class__.__base__.__subclasses__() }}\n")
    refused = cli("render", "case-plan", case_id)
    assert refused.code == 7 and "sandbox" in refused.stderr
    assert CANARY.split()[0].lower() not in (refused.stdout + refused.stderr).lower()
    (agency / "case-plan.en.md").write_text("line one\n{{ {'a': 1}[case.name] }}\n")  # a key from the case's data
    looked_up = cli("render", "case-plan", case_id)
    assert looked_up.code == 7 and "case-plan.en.md, line 2" in looked_up.stderr
    assert CANARY.split()[0].lower() not in (looked_up.stdout + looked_up.stderr).lower()


# -- the command ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_render__a_text_that_looks_like_an_impossible_date_is_written_as_typed(cli, fmt):
    """A note reading '2015-02-31' (a date mistyped in free text, accepted as text) made the whole
    case file fail to render (exit 7): the view took it for a date."""
    case_id = register(cli)
    for text in ("2015-02-31", "2026-11-20"):
        assert cli("note", case_id, "--text", text).code == 0
    rendered = cli("render", "case-file", case_id, "--format", fmt)
    assert rendered.code == 0, rendered.stderr
    assert "2015-02-31" in rendered.stdout and "20 November 2026" in rendered.stdout


def test_render__out_without_plaintext_writes_an_age_file_for_the_worker(cli, cli_as, team, tmp_path):
    from cpcm.crypto import cipher, identity

    case_id = planned_case(cli, cli_as, name=CANARY)
    out = tmp_path / "outside" / "plan.md.age"
    out.parent.mkdir()
    result = cli("render", "case-plan", case_id, "--out", str(out), "--json")
    assert result.code == 0, result.stderr
    assert result.json() == {"template": "case-plan", "case_id": case_id, "out": str(out.resolve()), "encrypted": True,
                             "lang": "en", "format": "md"}
    assert "encrypted" in result.stderr
    data = out.read_bytes()
    assert data.startswith(cipher.MAGIC)
    assert CANARY.encode() not in data and CANARY.split()[0].encode() not in data
    assert CANARY not in result.stderr
    keys = identity.load(team["amina"][0], lambda: None).keys
    text = cipher.decrypt(data, keys).decode()
    assert text.startswith(f"# Case plan: {CANARY}")
    with pytest.raises(cipher.NotARecipient):  # not to the other caseworker
        cipher.decrypt(data, identity.load(team["otieno"][0], lambda: None).keys)
    assert not [p for p in out.parent.iterdir() if p.name != "plan.md.age"]  # no temp file left


@pytest.mark.parametrize("name", ["plan.html", "Plan.HTML", "plan.md", "plan.markdown"])
def test_render__an_encrypted_out_file_named_as_a_readable_document_is_refused(cli, cli_as, tmp_path, name):
    """Without --plaintext the --out file is age ciphertext: a name a worker double-clicks to read
    (plan.html) is refused before anything is written, saying which flag writes it readable and
    which name holds the ciphertext (was: ciphertext written under plan.html, garbage when
    opened). The name typed is not repeated (it can be a child's name); with --plaintext, or
    ending in .age, the file is written."""
    case_id = planned_case(cli, cli_as)
    folder = tmp_path / "outside"
    folder.mkdir()
    named = folder / name.replace("plan", CANARY.split()[0])
    refused = cli("render", "child-plan", case_id, "--out", str(named), "--json")
    assert refused.code == 2, refused.stdout
    message = refused.json()["message"] + " " + refused.json()["hint"]
    suffix = named.suffix.lower()
    assert f"ends in {suffix}" in message and "--plaintext" in message and f"{suffix}.age" in message
    assert CANARY.split()[0].lower() not in (refused.stdout + refused.stderr).lower()
    assert list(folder.iterdir()) == []
    as_age = cli("render", "child-plan", case_id, "--out", str(folder / (name + ".age")), "--json")
    assert as_age.code == 0 and as_age.json()["encrypted"] is True, as_age.stderr
    plain = cli("render", "child-plan", case_id, "--out", str(folder / name), "--plaintext", "--json")
    assert plain.code == 0 and plain.json()["encrypted"] is False, plain.stderr


@pytest.mark.parametrize("name, options, example", [("plan.pdf", [], "document.html.age"), ("plan.txt", [], "document.html.age"),
                                                     ("plan.pdf", ["--plaintext"], "document.html"),
                                                     ("plan.PDF.age", [], "document.html.age"),
                                                     ("plan.html", ["--format", "md", "--plaintext"], "document.md")])
def test_render__an_out_name_whose_extension_is_not_a_format_it_writes_is_refused(cli, cli_as, tmp_path, name, options, example):
    """`render --out plan.pdf` was refused for its encryption with a hint (plan.pdf.age, or
    --plaintext) that wrote Markdown under a .pdf name. Now a name whose extension, before any .age,
    is neither Markdown's nor HTML's (or not --format's) is refused (exit 2, nothing written),
    naming --out, the extensions it takes and a name that works: the hint's example, run, writes
    that format. The name typed is not repeated."""
    case_id = planned_case(cli, cli_as)
    folder = tmp_path / "outside"
    folder.mkdir()
    word = CANARY.split()[0]
    refused = cli("render", "child-plan", case_id, "--out", str(folder / f"{word}-{name}"), *options, "--json")
    assert refused.code == 2, refused.stdout
    said = refused.json()["message"] + " " + refused.json()["hint"]
    extension = "." + name.lower().removesuffix(".age").rsplit(".", 1)[1]
    assert said.startswith(f"--out: a file whose name ends in {extension} ") and "nothing was written" in said
    assert "Markdown (.md) or HTML (.html)" in said or "--format md" in said
    assert word.lower() not in (refused.stdout + refused.stderr).lower() and list(folder.iterdir()) == []
    hinted = re.search(r"--out (\S+?)\)", refused.json()["hint"]).group(1)
    assert hinted == example
    done = cli("render", "child-plan", case_id, "--out", str(folder / hinted), *options, "--json")
    assert done.code == 0, done.stderr
    assert done.json()["format"] == example.split(".")[1] and done.json()["encrypted"] is example.endswith(".age")


def test_render__recipients_can_read_the_file_too(cli, cli_as, team, tmp_path):
    from cpcm.crypto import cipher, identity

    case_id = planned_case(cli, cli_as)
    out = tmp_path / "plan.html.age"
    result = cli("render", "child-plan", case_id, "--out", str(out), "--recipient", team["otieno"][1], "-r", "sup")
    assert result.code == 0, result.stderr
    for worker in ("amina", "otieno", "sup"):
        text = cipher.decrypt(out.read_bytes(), identity.load(team[worker][0], lambda: None).keys).decode()
        assert text.startswith("<!DOCTYPE html>")  # the format follows the file name
    bad = cli("render", "child-plan", case_id, "--out", str(out), "--recipient", "age1notakey")
    assert bad.code == 2


def test_render__plaintext_writes_plain_text_but_never_into_the_repository(cli, cli_as, repo, tmp_path):
    case_id = planned_case(cli, cli_as, name=CANARY)
    out = tmp_path / "print" / "plan.html"
    out.parent.mkdir()
    result = cli("render", "child-plan", case_id, "--format", "html", "--out", str(out), "--plaintext", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["encrypted"] is False
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and f"Hello {CANARY.split()[0]}!" in text
    assert CANARY.split()[1] not in text  # the child's plan uses the first name only
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    inside = cli("render", "child-plan", case_id, "--out", str(repo / "plan.md"), "--plaintext")
    assert inside.code == 4 and not (repo / "plan.md").exists()


def test_render__prints_to_stdout_without_out(cli, planned):
    result = cli("render", "child-plan", planned, "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["out"] is None and data["encrypted"] is False
    assert data["document"].startswith("# Neema's plan")
    assert cli("render", "child-plan", planned, "--plaintext").code == 2  # --plaintext needs --out


def test_render__an_agency_template_overrides_the_shipped_one(cli, planned, repo):
    agency = repo / ".cpcm" / "templates"
    agency.mkdir(parents=True)
    (agency / "case-plan.en.md").write_text("Kisumu agency plan for {{ case.id }}: {{ goals | length }} goals, "
                                            "review {{ plan.review_date | date_words }}\n")
    result = cli("render", "case-plan", planned)
    assert result.code == 0, result.stderr
    assert result.stdout == f"Kisumu agency plan for {planned}: 2 goals, review 22 February 2027\n"
    shipped_sw = cli("render", "case-plan", planned, "--lang", "sw")  # the others still come from cpcm
    assert shipped_sw.stdout.startswith("# Mpango wa kesi:")


def test_render__default_language_is_the_repository_s(cli, planned, repo):
    config = repo / ".cpcm" / "config.yaml"
    config.write_text(config.read_text().replace("language: en", "language: sw"))
    assert cli("render", "child-plan", planned).stdout.startswith("# Mpango wa Neema")
    assert cli("render", "child-plan", planned, "--lang", "en").stdout.startswith("# Neema's plan")
    unknown = cli("render", "child-plan", planned, "--lang", "fr")
    assert unknown.code == 3 and "en, sw" in unknown.stderr


def test_render__unknown_template_exits_3_listing_the_templates(cli, planned):
    result = cli("render", "case-summary", planned)
    assert result.code == 3
    assert "case-plan, child-file, child-plan" in result.stderr


def test_render__a_case_without_a_plan_exits_3(cli):
    case_id = register(cli)
    result = cli("render", "case-plan", case_id)
    assert result.code == 3 and f"cpcm plan {case_id}" in result.stderr


def test_render__help_has_an_example(cli):
    result = cli("render", "--help")
    assert result.code == 0 and "Example: cpcm render" in result.stdout


def test_render__help_lists_the_templates_a_wrong_name_lists(cli, planned):
    """`cpcm render --help` named no template; a wrong name listed them (was). The help lists
    every one the message lists, from the same source (service.document_names)."""
    import re

    wrong = cli("render", "case-summary", planned)
    assert wrong.code == 3
    listed = re.search(r"Templates: (.*)\.", wrong.stderr).group(1).split(", ")
    assert {"case-plan", "child-plan", "agenda", "minutes"} <= set(listed), listed
    shown = " ".join(cli("render", "--help").stdout.split())  # the words as the help wraps them
    assert "TEMPLATE, for a case: case-file, case-plan, child-file, child-plan," in shown, shown
    assert all(re.search(rf"[ :]{re.escape(name)}[,;.]", shown) for name in listed), (listed, shown)
    assert "the documents are listed here" not in shown


def test_child_plan__reads_at_a_child_s_level(cli, planned):
    for lang, jargon in (("en", ("caseworker", "referral", "contingency", "assessment", "supervisor")),
                         ("sw", ("afisa wa kesi", "rufaa", "dharura", "tathmini", "msimamizi"))):
        for fmt in ("md", "html"):
            result = cli("render", "child-plan", planned, "--lang", lang, "--format", fmt)
            assert result.code == 0, result.stderr
            text = result.stdout.lower()
            # the plan is there, in the child's words in the document's language and with the child's first name ...
            words = {"en": ("you will have enough food every day.", "you will go back to school."),
                     "sw": ("utapata chakula cha kutosha kila siku.", "utarudi shuleni.")}[lang]
            assert "neema" in text and all(w in text for w in words), (lang, fmt)
            # ... and nothing a child would not understand, nor the family name
            assert not [word for word in jargon if word in text], (lang, fmt)
            assert "otieno" not in text  # first name only


# -- the view models (pure) ------------------------------------------------------------------------
def _case_and_plan(approved: bool = False, rejected: bool = False, **body):
    from cpcm.domain.case import Case, Entry
    from cpcm.domain.records import Record

    record = Record(kind="plan", schema=1, id="01JD0000000000000000000001", case="CP-0000-0000", at="2026-11-16T14:00:00+03:00",
                    recorded_at="2026-11-16T14:00:00+03:00", by="amina", body=dict(PLAN, **body))
    plan = {"record_id": record.id, "version": 1, "approved_at": "2026-11-18T08:00:00+03:00" if approved else None,
            "approved_by": "sup" if approved else None, "rejected_at": "2026-11-18T08:00:00+03:00" if rejected else None}
    case = Case(id="CP-0000-0000", worker="amina", child={"name": "Neema Achieng", "age_estimate": 11},
                registered_at="2026-11-02T10:00:00+03:00", plan=plan,
                history=(Entry(record.id, "plan", record.at, record.recorded_at, "amina"),))
    return case, record


def test_views__approval_states():
    from cpcm.render.views import approval_view

    assert approval_view(*_case_and_plan(approved=True), names={"sup": "Grace"})["decided_by"] == {"id": "sup", "name": "Grace"}
    assert approval_view(*_case_and_plan())["state"] == "waiting"
    assert approval_view(*_case_and_plan(), approval_required=False)["in_force"] is True
    assert approval_view(*_case_and_plan(rejected=True))["state"] == "rejected"
    case, record = _case_and_plan(approved=True)
    from dataclasses import replace
    later = replace(case, plan=dict(case.plan, record_id="01JD0000000000000000000009"))
    assert approval_view(later, record)["state"] == "superseded"


def test_views__the_days_of_stored_times_are_the_agency_s_local_days():
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from cpcm.render.views import _day, _referral, _when, approval_view, case_plan_view

    nairobi = ZoneInfo("Africa/Nairobi")
    just_after_midnight = "2026-11-17T21:30:00+00:00"  # 00:30 on 18 November in Nairobi
    case, record = _case_and_plan(approved=True)
    case = replace(case, plan=dict(case.plan, approved_at=just_after_midnight))  # as the fold keeps it: UTC
    assert approval_view(case, record, zone=nairobi)["decided_on"] == "2026-11-18"
    case, record = _case_and_plan(rejected=True)
    case = replace(case, plan=dict(case.plan, rejected_at=just_after_midnight))
    assert approval_view(case, record, zone=nairobi)["decided_on"] == "2026-11-18"
    case, record = _case_and_plan()
    view = case_plan_view(case, replace(record, at=just_after_midnight), "en", zone=nairobi)
    assert (view["plan"]["written_on"], view["today"]) == ("2026-11-18", "2026-11-18")
    # a referral as the fold keeps it (its times in UTC), with and without its history
    entry = {"ref": "R1", "service": "clinic", "at": just_after_midnight, "status": "accepted", "status_at": just_after_midnight,
             "start": "2026-11-25"}
    assert [_referral(entry, {}, nairobi)[k] for k in ("sent_on", "status_on", "start")] == ["2026-11-18", "2026-11-18", "2026-11-25"]
    entry["history"] = [{"status": "sent", "at": just_after_midnight}, {"status": "accepted", "at": "2026-11-18T21:05:00+00:00"}]
    assert [_referral(entry, {}, nairobi)[k] for k in ("sent_on", "status_on")] == ["2026-11-18", "2026-11-19"]
    # a record of the case file: its day and its clock time in the agency's zone
    assert _when(just_after_midnight, nairobi) == {"date": "2026-11-18", "time": "00:30"}
    assert _day("2026-11-18", nairobi) == "2026-11-18"  # a date alone is that date
    assert _day(None, nairobi) is None


def test_views__the_child_plan_splits_the_actions_and_keeps_to_the_first_name():
    from datetime import date

    from cpcm.render.views import child_plan_view

    view = child_plan_view(*_case_and_plan(approved=True), "en", today=date(2026, 11, 23))
    assert view["first_name"] == "Neema"
    assert [i["words"] for i in view["you_will"]] == ["Go to school every day.", "Join the after-school reading club."]
    assert [(h["who"], h["helper"], h["asked"]) for h in view["helpers"]] == [
        ("service", "Sub-county children's office", True), ("caseworker", None, False), ("family", "Grandmother", False)]
    assert view["next_meeting"] == "2027-02-22"
    assert view["if_wrong"]["sentences"] == ["If you feel unsafe, tell your teacher.", "Call 116 at any time, day or night."]
    assert view["if_wrong"]["phones"] == ["0712 345 678"]
    assert "Achieng" not in json.dumps(view)


def test_views__case_plan_groups_actions_under_their_goals():
    from datetime import date

    from cpcm.render.views import case_plan_view

    view = case_plan_view(*_case_and_plan(), "sw", today=date(2026, 11, 23))
    assert [[a["number"] for a in g["actions"]] for g in view["goals"]] == [[1, 2], [3, 4]]
    assert [a["number"] for a in view["other_actions"]] == [5]
    assert view["case"]["age"] == {"years": 11, "date_of_birth": None, "estimated": True}
    assert view["plan"]["version"] == 1 and view["plan"]["participants"]["child"] is True
    json.dumps(view)  # plain data only


def test_views__contingency_in_simple_words():
    from cpcm.render.views import phone_numbers, simple_sentences

    assert phone_numbers("Call 116, or +254 20 123 4567, or 0712-345-678 before 2026-12-01 (in 2027).") == [
        "116", "+254 20 123 4567", "0712-345-678"]
    assert simple_sentences("The caseworker refers the family. Go to Mama Akinyi next door!\nStay inside.") == [
        "Go to Mama Akinyi next door!", "Stay inside."]


def test_render__works_from_the_installed_command(cli, planned):
    result = cli.process("render", "child-plan", planned, "--lang", "sw", "--format", "html")
    assert result.code == 0, result.stderr
    assert normalise(result.stdout) == (GOLDEN / "child-plan.sw.html").read_text(encoding="utf-8")


def test_shipped_templates__every_document_in_every_language_and_format():
    from cpcm.render.env import available, shipped_dir
    from cpcm.render.views import documents

    assert (shipped_dir() / "_words.j2").is_file()
    found = available()
    for document in documents():
        assert found[document] == {(lang, fmt) for lang in ("en", "sw") for fmt in ("md", "html")}


def test_render__a_template_changed_while_the_process_runs_is_compiled_again(tmp_path):
    """Templates are compiled once per process (render/env.py): an agency's template edited
    between two renders gives the new text, not the compiled old one."""
    from cpcm.render.env import AGENCY_DIR, render

    folder = tmp_path / AGENCY_DIR
    folder.mkdir(parents=True)
    template = folder / "letter.md"
    template.write_text("Dear {{ name }},\n", encoding="utf-8")
    assert render("letter", "en", "md", {"name": "A"}, tmp_path) == "Dear A,\n"
    template.write_text("Hello {{ name }}!\n", encoding="utf-8")
    assert render("letter", "en", "md", {"name": "B"}, tmp_path) == "Hello B!\n"


def test_render__a_goals_indicator_and_the_transition_to_aftercare_are_written_and_read_back(cli, cli_as):
    """ESARO Step 3's plan minimum: each goal with an indicator of when it is met, and the transition
    to aftercare for a young person leaving care; written with the plan, read back by `show` and
    in the plan's documents (both languages, both formats)."""
    goals = [dict(PLAN["goals"][0], indicator="attends school four days a week for a term"), PLAN["goals"][1]]
    case_id = planned_case(cli, cli_as, plan_overrides={
        "goals": goals, "aftercare": "a room near the college, a mentor from the home visits monthly"})
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            text = cli("render", "case-plan", case_id, "--lang", lang, "--format", fmt).stdout
            assert "attends school four days a week for a term" in text, (lang, fmt)
            assert "a room near the college, a mentor from the home visits monthly" in text, (lang, fmt)
            assert ("How we will know it is met" in text, "Transition to aftercare" in text) == (lang == "en",) * 2
            if lang == "sw":
                assert "Tutajua kuwa limefikiwa" in text and "Kuhamia huduma baada ya malezi" in text
    plan = cli("show", case_id, "plan", "--json").json()
    assert plan["fields"]["goals"][0]["indicator"] == "attends school four days a week for a term"
    assert plan["fields"]["aftercare"].startswith("a room near the college")


def test_render__a_plan_corrected_by_the_supervisor_is_still_written_by_its_worker(cli, cli_as, planned):
    """A plan version's writer is the writer of its first record (approvals.asker): the supervisor
    who corrected a date is not said to have written it, in the documents nor in `show --json`."""
    fixed = cli_as("sup")("correct", planned, "plan", "--set", "actions.A1.by=2026-12-16", "--reason", "date wrong",
                                  "--json")
    assert fixed.code == 0, fixed.stderr
    for fmt in ("md", "html"):
        shown = cli("render", "case-plan", planned, "--format", fmt).stdout
        assert "written on 16 November 2026 by amina" in shown and "by sup" not in shown.split("Approved on")[0], shown
    sw = cli("render", "case-plan", planned, "--lang", "sw").stdout
    assert "uliandikwa tarehe 16 Novemba 2026 na amina" in sw, sw
    plan = cli("show", planned, "--json").json()["plan"]
    assert plan["by"] == "amina" and plan["record_id"] == fixed.json()["record_id"], plan
