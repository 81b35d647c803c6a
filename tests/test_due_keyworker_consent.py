"""`cpcm due` lists what only `cpcm check` said before: a case whose keyworker, a colleague, has
left the team (`keyworker-off-team`, for the case's worker and every supervisor and manager), and
a referral or transfer request whose consent was withdrawn or corrected away since
(`referral-consent-withdrawn`, `referral-consent-corrected`, `transfer-consent-corrected`, for the
case's worker). `team remove` changes no case: its item appears at once, from the due view and
tables kept for the cases as they were (no cold fill). The child's name (the canary) is never in
`due`'s output, whoever asks."""
from __future__ import annotations

import os
import sys

import pytest

from conftest import CANARY, consent_both, make_identity, on_terminal, register

CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--cost", "free"]


LATER = {"CPCM_NOW": "2026-11-24T09:00:00+03:00"}  # a day after the tests' NOW


def same_without_tables(cli, monkeypatch, env: dict | None = None) -> None:
    """Every form of `due` as `cli`'s worker gives the same with the due tables and views as
    computed from the folded cases (no tables kept)."""
    from cpcm.service import tables

    for args in ((), ("--json",), ("--worker", "all"), ("--worker", "all", "--json"), ("--overdue",)):
        kept = cli("due", *args, env=env)
        with monkeypatch.context() as patch:
            patch.setattr(tables, "_session", lambda ctx: None)
            computed = cli("due", *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args


def codes(cli, *args: str, env: dict | None = None) -> list[tuple[str, str, str | None]]:
    """(code, case, owner) of each item of `cpcm due --json` as `cli`'s worker."""
    result = cli("due", "--json", *args, env=env)
    assert result.code == 0, result.stderr
    return [(item["code"], item["case_id"], item["owner"]) for item in result.json()]


@pytest.mark.parametrize("overlaid", [False, True], ids=["view-spliced", "view-overlaid"])
def test_walk__a_keyworker_who_leaves_the_team_is_on_due_until_another_is_nominated(repo, cli_as, reads, monkeypatch, overlaid):
    """otieno is nominated keyworker of amina's case, then removed from the team: amina's `due` and
    the supervisor's list `keyworker-off-team` at once (the team changed, no case did: no fill), with
    the command to nominate another, in text, --json and on a terminal; a new keyworker nominated,
    it goes. `overlaid`: the due view takes a case written since from its files over the view as it
    is (as a large view does), instead of splicing it in."""
    from cpcm.service import dueview

    if overlaid:
        monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD)
    assert ("initial-assessment", case_id, "amina") in codes(amina)  # the due views made before the nomination
    assert ("initial-assessment", case_id, "amina") in codes(sup, "--worker", "all")
    assert amina("assign", case_id, "--keyworker", "otieno", "--reason", "knows the family").code == 0
    assert ("keyworker-off-team", case_id, "amina") not in codes(amina)  # the views brought up to date with the write
    assert ("keyworker-off-team", case_id, "amina") not in codes(sup)

    removed = sup("team", "remove", "otieno")
    assert removed.code == 0, removed.stderr
    reads.clear()
    for cli in (amina, sup):
        assert ("keyworker-off-team", case_id, "amina") in codes(cli)
        assert ("keyworker-off-team", case_id, "amina") in codes(cli, "--worker", "all")
    # team remove changes no case, and its item needs none read: none is (overlaid, the case written by the
    # nomination is read from its files by every `due` until the view is spliced, as before the removal)
    assert reads == [] if not overlaid else set(reads) == {case_id}, reads
    for cli in (amina, sup):
        same_without_tables(cli, monkeypatch)
        same_without_tables(cli, monkeypatch, LATER)
    # due from when the keyworker left: overdue from then on, listed with --overdue
    assert ("keyworker-off-team", case_id, "amina") in codes(sup, "--overdue", env=LATER)
    # on the supervisor's own list already: not counted again among the team's others overdue
    assert "overdue on the team's lists" not in sup("due", env=LATER).stderr
    item = next(i for i in amina("due", "--json", env=LATER).json() if i["code"] == "keyworker-off-team")
    assert item["due"] == "2026-11-23T09:00+03:00"
    assert item["state"] == "overdue" and item["rule"] == "keyworker" and item["title"] == "nominate another keyworker"
    assert f"cpcm assign {case_id} --keyworker WORKER --reason" in item["why"] and "otieno" in item["why"]
    assert "IAG Step 3" in item["source"]
    text = amina("due").stdout
    line = next(line for line in text.splitlines() if "nominate another keyworker" in line)
    assert case_id in line and "otieno" in line and f"cpcm assign {case_id} --keyworker WORKER" in line
    assert line.endswith("--reason ... (IAG Step 3 [L864-866])")
    shown, code = on_terminal([sys.executable, "-m", "cpcm", "due"], {**os.environ, **amina.env}, columns=300)
    assert code == 0 and b"nominate" in shown and b"keywork" in shown and b"(otieno)" in shown, shown.decode()
    # the same item as cpcm check's warning: one text
    warned = next(p for p in sup("check", "--json").json() if p["code"] == "keyworker-off-team")
    assert warned["message"] == item["why"]

    assert amina("assign", case_id, "--keyworker", "amina", "--reason", "otieno left").code == 0
    for cli in (amina, sup):
        assert "keyworker-off-team" not in [code for code, _case, _owner in codes(cli, "--worker", "all")]
        same_without_tables(cli, monkeypatch)


def test_the_keyworker_item_is_not_on_another_caseworkers_list_and_never_names_the_child(repo, cli_as, tmp_env):
    """wanjiru, nominated keyworker of amina's case, leaves; otieno, another caseworker, reads
    neither the case nor its item; the child's name is in no output of `due`, whoever asks."""
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    recipient = make_identity(tmp_env / "keys" / "wanjiru.txt")
    assert sup("team", "add", "wanjiru", "--role", "caseworker", "--recipient", recipient).code == 0
    case_id = register(amina, child=CHILD)
    assert amina("assign", case_id, "--keyworker", "wanjiru", "--reason", "knows the family").code == 0
    assert sup("team", "remove", "wanjiru").code == 0
    assert ("keyworker-off-team", case_id, "amina") in codes(amina)
    assert case_id not in otieno("due", "--json").stdout
    assert case_id not in otieno("due", "--worker", "all", "--json").stdout
    for cli in (amina, sup, otieno):
        for args in ((), ("--json",), ("--worker", "all"), ("--worker", "all", "--json")):
            out = cli("due", *args)
            assert out.code == 0, out.stderr
            assert CANARY not in out.stdout and CANARY not in out.stderr


def test_walk__a_referrals_consent_withdrawn_is_on_due_until_it_is_given_again(repo, cli_as, monkeypatch):
    """The caregiver refuses, after the referral went, the consent it was sent on: the case's worker's
    `due` lists `referral-consent-withdrawn` (the words `cpcm check` says, with the commands) from the
    refusal on, in text, --json and on a terminal; the caregiver's consent recorded again, it goes, and
    `check` reports it once, under its own code (not as an overdue item too)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    assert amina(*CLINIC).code == 0
    case_id = register(amina, child=CHILD)
    consent_both(amina, case_id)
    assert amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    assert "referral-consent-withdrawn" not in [code for code, _case, _owner in codes(amina, "--worker", "all")]

    refused = amina("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "caregiver", "--status",
                    "refused", "--reason", "changed their mind", "--explained", "all")
    assert refused.code == 0, refused.stderr
    assert ("referral-consent-withdrawn", case_id, "amina") in codes(amina)
    assert ("referral-consent-withdrawn", case_id, "amina") in codes(sup, "--worker", "all")
    assert ("referral-consent-withdrawn", case_id, "amina") not in codes(sup)  # the case's worker's, not a supervisor's
    assert ("referral-consent-withdrawn", case_id, "amina") in codes(amina, "--overdue", env=LATER)
    same_without_tables(amina, monkeypatch, LATER)
    item = next(i for i in amina("due", "--json").json() if i["code"] == "referral-consent-withdrawn")
    assert item["title"] == "referral R1 (clinic): its consent withdrawn" and item["rule"] == "consent"
    assert f"cpcm consent {case_id} --purpose referral --agency clinic --by caregiver --status given" in item["why"]
    assert f"cpcm referral {case_id} R1 --status closed" in item["why"] and "ESARO P6" in item["source"]
    problems = [p for p in amina("check", case_id, "--json").json() if "consent" in p["code"]]
    assert [(p["code"], p["message"]) for p in problems] == [("referral-consent-withdrawn", item["why"])]
    line = next(line for line in amina("due").stdout.splitlines() if "its consent withdrawn" in line)
    assert case_id in line and "--by caregiver --status given" in line
    shown, code = on_terminal([sys.executable, "-m", "cpcm", "due"], {**os.environ, **amina.env}, columns=300)
    assert code == 0 and b"consent" in shown and b"withdra" in shown and b"refuse" in shown, shown.decode()
    for cli in (amina, sup):
        for args in ((), ("--json",), ("--worker", "all")):
            out = cli("due", *args)
            assert CANARY not in out.stdout and CANARY not in out.stderr

    again = amina("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "caregiver", "--status", "given",
                  "--explained", "all")
    assert again.code == 0, again.stderr
    assert "referral-consent-withdrawn" not in [code for code, _case, _owner in codes(amina, "--worker", "all")]


def test_a_consent_overridden_names_who_overrode_it_in_show_and_the_case_file(repo, cli_as):
    """The caregiver refuses; a supervisor records an override: `show` (text and --json) and the case
    file (Markdown and HTML, English and Kiswahili) say which override stands in and who recorded it."""
    amina, sup = cli_as("amina"), cli_as("sup")
    assert amina(*CLINIC).code == 0
    case_id = register(amina, child=CHILD)
    refused = amina("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "caregiver", "--status",
                    "refused", "--reason", "changed their mind", "--explained", "all", "--json")
    assert refused.code == 0, refused.stderr
    override = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis",
                   "best_interests", "--reason", "the child needs the treatment", "--json")
    assert override.code == 0, override.stderr
    override_id = override.json()["record_id"]
    consents = amina("show", case_id, "--json").json()["consents"]
    entry = next(c for c in consents if c["kind"] == "consent" and c["given_by"] == "caregiver")
    assert (entry["state"], entry["overridden_by"], entry["overridden_by_worker"]) == ("refused", override_id, "sup")
    assert all(c["overridden_by_worker"] is None for c in consents if c is not entry)
    assert f"refused; override {override_id} by sup stands in" in amina("show", case_id).stdout
    name = next(w["name"] for w in amina("team", "list", "--json").json() if w["id"] == "sup")
    markdown = amina("render", "case-file", case_id)
    assert markdown.code == 0, markdown.stderr
    said = f"Overridden by record {override_id}: a supervisor's override stands in for this answer. Recorded by {name}."
    assert said in markdown.stdout and markdown.stdout.count("Overridden by record") == 1
    assert said in amina("render", "case-file", case_id, "--format", "html").stdout
    assert f"Jibu hili limepitwa na rekodi {override_id}" in amina("render", "case-file", case_id, "--lang", "sw").stdout


def test_walk__a_consent_refused_for_a_step_is_on_due_until_an_override_or_the_answer_changes(repo, cli_as, monkeypatch):
    """The comprehensive assessment checks consent for assessment (`consent.checked_at`). While none is
    recorded, `due` lists the step alone (the step goes ahead with a warning: the consent is asked for
    at the visit that does it). The caregiver refuses it: the step would be refused, and the case's
    worker's `due` says so with the supervisor's override (`step-consent-refused`, the words of the one
    consent rule and the command); the override recorded, it goes. On another case the answer given
    again takes it off too."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD)
    assert not [i for i in amina("due", "--json").json() if i["code"].startswith("step-consent")]
    assert not [p for p in amina("check", case_id, "--json").json() if "consent" in p["code"]]
    refused = amina("consent", case_id, "--purpose", "assessment", "--by", "caregiver", "--status", "refused",
                    "--reason", "changed their mind", "--explained", "all")
    assert refused.code == 0, refused.stderr
    item = next(i for i in amina("due", "--json").json() if i["code"] == "step-consent-refused")
    step = next(i for i in amina("due", "--json").json() if i["code"] == "comprehensive-assessment")
    assert item["title"] == "consent for assessment refused: the comprehensive assessment needs an override"
    assert (item["case_id"], item["owner"], item["due"], item["target"]) == (case_id, "amina", step["due"], step["target"])
    assert "the caregiver's consent for assessment is 'refused'" in item["why"]
    assert "cpcm consent CASE --override --purpose assessment --basis legal_mandate|best_interests" in item["why"]
    # the command names CASE (the item's case): one text for every case (the due table keeps each text once)
    assert case_id not in item["why"] and "ESARO P6" in item["why"]
    assert item["rule"] == "consent" and "ESARO P6" in item["source"]
    assert ("step-consent-refused", case_id, "amina") not in codes(sup)  # the case's worker's
    line = next(line for line in amina("due").stdout.splitlines() if "consent for assessment refused" in line)
    assert line.endswith("(IAG §1 informed consent and assent)") and case_id in line
    same_without_tables(amina, monkeypatch)
    override = sup("consent", case_id, "--override", "--purpose", "assessment", "--basis", "legal_mandate", "--reason",
                   "court order")
    assert override.code == 0, override.stderr
    assert not [c for c, _case, _owner in codes(amina) if c.startswith("step-consent")]

    other = register(amina, child=CHILD)
    assert amina("consent", other, "--purpose", "assessment", "--by", "caregiver", "--status", "refused",
                 "--reason", "changed their mind", "--explained", "all").code == 0
    assert ("step-consent-refused", other, "amina") in codes(amina)
    consent_both(amina, other, purpose="assessment", agency="")
    assert ("step-consent-refused", other, "amina") not in codes(amina, "--worker", "all")
    same_without_tables(amina, monkeypatch)
    for cli in (amina, sup):
        out = cli("due", "--worker", "all")
        assert CANARY not in out.stdout and CANARY not in out.stderr
