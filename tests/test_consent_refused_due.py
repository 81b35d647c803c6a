"""Consent to the case's work (registration) refused, or not possible, is asked about until it is settled
(workflow/consent.py `case_work`, the policy's `consent_decision`): `cpcm due` lists `consent-refused` for the
case's worker and for the supervisors, `cpcm check CASE` reports it, and the steps that give the child's data to
others (refer, transfer, conference add-case) warn, or refuse where the agency's policy says so; a supervisor's
override for registration, or the answer given later, ends it. The child's name (the canary) is never said."""
from __future__ import annotations

from conftest import CANARY, consent_both, head, register
from test_due_keyworker_consent import same_without_tables

LATER = {"CPCM_NOW": "2026-11-26T09:00:00+03:00"}  # three days after the tests' NOW

CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
REFUSED = {"child": "given", "caregiver": "refused", "explained": True}
CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--cost", "free"]
REFER = ["--service", "clinic", "--need", "treatment", "--check", "all"]


def items(cli, *args: str, env: dict | None = None) -> list[tuple[str, str, str]]:
    """(code, case, owner) of the `consent-…` items of `cpcm due --json` as `cli`'s worker."""
    result = cli("due", "--json", *args, env=env)
    assert result.code == 0, result.stderr
    return [(i["code"], i["case_id"], i["owner"]) for i in result.json() if i["code"] in ("consent-refused", "consent-missing")]


def check_codes(cli, case_id: str) -> list[str]:
    result = cli("check", case_id, "--json")
    assert result.code in (0, 1), result.stderr
    return [p["code"] for p in result.json()]


def test_walk__a_refused_registration_consent_is_asked_about_until_a_supervisor_overrides_it(cli_as, repo, monkeypatch):
    """The caregiver refused consent to registration: the case's worker and the supervisor both have
    `consent-refused` on `due`, due 48 hours (the policy's limit) after the registration, with the rule and its
    source; `check CASE` reports it (exit 1); a referral on valid referral consent goes ahead with a warning that
    names it. The supervisor records the override for registration: it goes from both lists and from `check`."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent=REFUSED)
    assert ("consent-refused", case_id, "amina") in items(amina)
    assert ("consent-refused", case_id, "amina") in items(sup)  # the supervisor's own list: the override is theirs
    assert ("consent-refused", case_id, "amina") not in items(cli_as("otieno"))  # another caseworker's is not
    assert ("consent-refused", case_id, "amina") in items(sup, "--worker", "all")
    for cli in (amina, sup):
        same_without_tables(cli, monkeypatch)
        same_without_tables(cli, monkeypatch, LATER)
    item = next(i for i in amina("due", "--json").json() if i["code"] == "consent-refused")
    initial = next(i for i in amina("due", "--json").json() if i["code"] == "initial-assessment")
    assert item["due"] == initial["due"]  # 48 hours from the registration, as the initial assessment's limit
    assert item["rule"] == "consent_decision" and "ESARO P6" in item["source"] and "cpcm's choice" in item["source"]
    assert "the caregiver's consent for registration is 'refused'" in item["why"]
    assert "cpcm consent CASE --override --purpose registration --basis legal_mandate|best_interests" in item["why"]
    assert "--by caregiver --status given" in item["why"] and "--by child" not in item["why"]
    assert case_id not in item["why"]  # one text for every case (the due tables keep each once)

    # on the supervisor's own list already: not counted again among the team's others overdue (the initial assessment is)
    assert "next: 1 item(s) overdue on the team's lists (1 case(s))" in sup("due", env=LATER).stderr
    assert ("consent-refused", case_id, "amina") in items(sup, "--overdue", env=LATER)  # 48 hours after registration
    checked = amina("check", case_id)
    assert checked.code == 1 and "consent-refused" in checked.stdout, checked.stdout
    assert f"cpcm consent {case_id} --override --purpose registration" in checked.stdout

    assert sup(*CLINIC).code == 0
    consent_both(amina, case_id)
    referred = amina("refer", case_id, *REFER)
    assert referred.code == 0, referred.stderr
    assert "the referral goes ahead, but consent to registration is not settled (consent-refused)" in referred.stderr

    # a caseworker cannot record the override; the item stays
    assert amina("consent", case_id, "--override", "--purpose", "registration", "--basis", "legal_mandate",
                 "--reason", "court order").code == 4
    assert ("consent-refused", case_id, "amina") in items(amina)
    override = sup("consent", case_id, "--override", "--purpose", "registration", "--basis", "best_interests",
                   "--reason", "the child is at risk at home")
    assert override.code == 0, override.stderr
    assert items(amina) == [] and items(sup) == [] and items(sup, "--worker", "all") == []
    assert "consent-refused" not in check_codes(amina, case_id)
    assert "consent to registration" not in amina("refer", case_id, "--service", "clinic", "--need", "follow-up",
                                                  "--check", "all").stderr
    for cli in (amina, sup):
        out = cli("due", "--worker", "all")
        assert CANARY not in out.stdout and CANARY not in out.stderr


def test_a_refusal_answered_later_with_consent_given_takes_the_item_off(cli_as):
    """A child's assent not possible at registration, given later (`cpcm consent --purpose registration`): the
    item goes; a later refusal of the caregiver brings it back, until the caregiver's answer is given again."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent={"child": "not_possible", "caregiver": "given", "explained": True})
    assert ("consent-refused", case_id, "amina") in items(amina)
    given = amina("consent", case_id, "--purpose", "registration", "--by", "child", "--status", "given", "--explained", "all")
    assert given.code == 0, given.stderr
    assert items(amina) == [] and "consent-refused" not in check_codes(amina, case_id)
    assert amina("consent", case_id, "--purpose", "registration", "--by", "caregiver", "--status", "refused",
                 "--reason", "the family moved away", "--explained", "all").code == 0
    assert ("consent-refused", case_id, "amina") in items(amina)
    assert "consent-refused" in check_codes(sup, case_id)
    assert amina("consent", case_id, "--purpose", "registration", "--by", "caregiver", "--status", "given",
                 "--explained", "all").code == 0
    assert items(amina) == [] and items(sup) == []


def test_an_agency_that_refuses_sharing_while_it_stands_refuses_the_referral_and_writes_nothing(cli_as, repo):
    """`consent_decision.at_sharing: refuse` in .cpcm/policy.yaml: the referral is refused (exit 4,
    `consent-refused`), nothing is written; once the supervisor's override is recorded it goes ahead."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent=REFUSED)
    assert sup(*CLINIC).code == 0
    consent_both(amina, case_id)
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  consent_decision:\n    at_sharing: refuse\n")
    before = head(repo)
    refused = amina("refer", case_id, *REFER, "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["rule"] == "consent-refused", refused.stdout
    assert "while consent to registration is not settled" in refused.json()["message"]
    assert head(repo) == before and CANARY not in refused.stdout + refused.stderr
    assert sup("consent", case_id, "--override", "--purpose", "registration", "--basis", "legal_mandate",
               "--reason", "court order").code == 0
    assert amina("refer", case_id, *REFER).code == 0


def test_walk__transfer_warns_and_the_receiving_agency_is_asked_for_its_own_answers(sending, receiving, cli_as, tmp_env):
    """A case whose caregiver refused consent to registration: the transfer request and the transfer (on valid
    transfer consent) go ahead, each warning. The receiving agency's copy holds the refusal, but what the sending
    agency was told (and its supervisor's decision) does not carry over: its worker and supervisor have
    `consent-missing` on `due` until the answers are recorded there."""
    from test_transfer import REASON, consent

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent=REFUSED)
    consent(amina, case_id)
    requested = amina("transfer", case_id, *REASON, "--check", "all", "--json")
    assert requested.code == 0, requested.stderr
    assert "the transfer request goes ahead, but consent to registration is not settled (consent-refused)" in requested.stderr
    assert sup("approve", case_id, "transfer").code == 0
    bundle, receipt = tmp_env / "bundle.age", tmp_env / "receipt.age"
    sent = amina("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert sent.code == 0, sent.stderr
    assert any("the transfer goes ahead, but consent to registration" in w for w in sent.json()["warnings"]), sent.stdout

    wanjiru, kim = receiving("wanjiru"), receiving("kim")
    assert wanjiru("receive", str(bundle), "--receipt", str(receipt)).code == 0
    assert ("consent-missing", case_id, "wanjiru") in items(wanjiru)
    assert ("consent-missing", case_id, "wanjiru") in items(kim)
    assert "consent-missing" in check_codes(wanjiru, case_id)
    for giver in ("child", "caregiver"):
        assert wanjiru("consent", case_id, "--purpose", "registration", "--by", giver, "--status", "given",
                       "--explained", "all").code == 0
    assert items(wanjiru) == [] and items(kim) == []
    assert "consent-missing" not in check_codes(wanjiru, case_id)


def test_register__says_due_and_check_keep_asking_for_a_refused_consent(cli_as):
    """The `next:` line of a registration whose caregiver refused says that `cpcm due` asks for the decision, within
    the policy's limit with its source, and `cpcm check` reports it until then."""
    amina = cli_as("amina")
    result = amina("register", "--from-file", "-", input=__import__("json").dumps(
        __import__("conftest").registration(child=CHILD, consent=REFUSED)))
    assert result.code == 0, result.stderr
    assert ("cpcm due asks for it within 48 hours (cpcm's choice; ESARO P6), and cpcm check reports it, until it is "
            "recorded or the answer is given (consent-refused)") in result.stderr
    assert CANARY not in result.stderr


def test_conference_nomination_warns_while_a_refusal_stands_and_refuses_where_the_agency_says_so(cli_as, repo):
    """A caseworker's nomination of the case for a conference (its presentation goes to the members) and the
    supervisor's taking it in warn while the caregiver's refusal of registration has no override; with
    `at_sharing: refuse` the nomination is refused (exit 4) and nothing is written."""
    from test_conference import new_conference

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent=REFUSED)
    other = register(amina, child=CHILD, consent=REFUSED)
    conf = new_conference(sup)
    proposed = amina("conference", "add-case", conf, case_id, "--reason", "especially_difficult")
    assert proposed.code == 0, proposed.stderr
    said = "the nomination for conference goes ahead, but consent to registration is not settled (consent-refused)"
    assert said in proposed.stderr
    taken = sup("conference", "add-case", conf, case_id)
    assert taken.code == 0 and said in taken.stderr, taken.stderr
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  consent_decision:\n    at_sharing: refuse\n")
    before = head(repo)
    refused = sup("conference", "add-case", conf, other, "--reason", "especially_difficult", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "consent-refused", refused.stdout
    assert head(repo) == before and CANARY not in refused.stdout + refused.stderr


def test_a_babys_assent_not_possible_is_no_refusal_under_the_agencys_age():
    """Under the agency's `consent.child_from_age` the child's assent is not asked: a baby's `not_possible` is not
    listed; with the profile's 0 it is. Service level, over the memory store."""
    import json

    from cpcm import service
    from conftest import registration
    from memory_repo import MemoryRepo

    baby = {"name": "Test Baby", "sex": "male", "date_of_birth": "2025-06-01", "disability": "no"}
    for rules, asked in (({"consent": {"child_from_age": 3}}, False), (None, True)):
        repo = MemoryRepo(rules=rules)
        amina = repo.as_("amina")
        data = json.loads(json.dumps(registration(child=baby, consent={"child": "not_possible", "caregiver": "given"})))
        case_id = service.register(amina, data).subject_id
        codes = [(i.code, i.case_id) for i in service.due_list(amina)]
        assert (("consent-refused", case_id) in codes) is asked, codes


def test_consent_not_possible_is_worded_as_not_possible_and_asks_for_the_override():
    """Nobody refused: a baby's assent (the profile's child_from_age 0 asks every child) or an unaccompanied child's
    caregiver's consent is `not_possible`. The item (code `consent-refused`, as before) says so by state, and asks for
    a supervisor's override, never for the answer given again; a refusal beside it keeps the refusal's words."""
    import json

    from cpcm import service
    from conftest import registration
    from memory_repo import MemoryRepo

    baby = {"name": "Test Baby", "sex": "male", "date_of_birth": "2025-06-01", "disability": "no"}
    for consent, not_possible in (({"child": "not_possible", "caregiver": "given"}, True),
                                  ({"child": "given", "caregiver": "not_possible"}, True),
                                  ({"child": "not_possible", "caregiver": "refused"}, False)):
        repo = MemoryRepo()
        amina = repo.as_("amina")
        case_id = service.register(amina, json.loads(json.dumps(registration(child=baby, consent=consent)))).subject_id
        item = next(i for i in service.due_list(amina) if i.case_id == case_id and i.code == "consent-refused")
        assert ("not possible" in item.title and "refused" not in item.title) is not_possible, (consent, item.title)
        assert item.title.endswith("is owed") is not_possible, item.title  # owed, not read as given
        assert ("--status given" not in item.why and "--override" in item.why) is not_possible, (consent, item.why)
        assert "--override --purpose registration --basis" in item.why


def test_override__the_same_override_in_several_cases_is_one_commit_and_one_record_each(cli_as, repo):
    """The children of a home whose caregivers could not be asked, each on the same legal mandate: one
    `cpcm consent CASE CASE --override ...` records an override in each case, in one commit (`consent batch 2
    cases`, no name), and their `consent-refused` items go. A case not found, or named twice, and nothing is
    written; several cases without --override are refused (consent is each family's own answer)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    impossible = {"child": "not_possible", "caregiver": "not_possible", "explained": True}
    first = register(amina, child=CHILD, consent=impossible)
    second = register(amina, consent=impossible)
    assert {case for _code, case, _owner in items(sup)} == {first, second}
    override = ["--override", "--purpose", "registration", "--basis", "legal_mandate", "--reason", "committal order on file"]
    before = head(repo)
    for refused in (sup("consent", first, "CP-0000-0000", *override), sup("consent", first, second, first, *override),
                    amina("consent", first, second, "--purpose", "registration", "--by", "child", "--status", "given")):
        assert refused.code in (2, 3, 4) and head(repo) == before, refused.stderr
        assert CANARY not in refused.stdout + refused.stderr
    assert "is named twice" in sup("consent", first, second, first, *override).stderr
    done = sup("consent", first, second, *override, "--json")
    assert done.code == 0, done.stderr
    assert [r["case_id"] for r in done.json()["records"]] == [first, second]
    import subprocess

    log = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%s"], capture_output=True, text=True).stdout.strip()
    assert log == "consent batch 2 cases", log
    assert head(repo) != before and items(sup) == [] and items(amina) == []
    for case_id in (first, second):
        shown = sup("show", case_id, "--json").json()["consents"]
        assert [(c["kind"], c["purpose"], c["by"]) for c in shown] == [("consent_override", "registration", "sup")], shown
    assert sup("verify").code == 0
