"""A transfer to an agency whose age key is not on file (not in the service directory, or in it with
no `recipient`) is asked for and approved as before (the key may come later), but both steps warn
that the bundle cannot be written without it and name how to put it on file, or to give it at the
last step (`--recipient`): before, only the last step said so, with exit 2. Through the CLI."""
from __future__ import annotations

from conftest import CANARY, register
from test_transfer import canary, decrypt

WHY = ["--reason", "the family moved to Kilifi", "--reason-code", "relocation", "--check", "all"]


def _consented(cli, case_id: str, agency: str) -> None:
    for giver in ("child", "caregiver"):
        given = cli("consent", case_id, "--purpose", "transfer", "--agency", agency, "--status", "given", "--explained", "all",
                    "--by", giver)
        assert given.code == 0, given.stderr


def _key_warnings(result) -> list[str]:
    assert result.code == 0, result.stderr
    return [w for w in result.json()["warnings"] if "no age key" in w]


def test_transfer__to_an_agency_outside_the_directory_warns_at_the_request_and_the_approval(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, **canary())
    assert sup("consent", case_id, "--override", "--purpose", "transfer", "--agency", "kilifi-cpu", "--basis", "best_interests",
               "--reason", "the family moved; the county office takes the case").code == 0
    asked = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--json")
    assert asked.json()["kind"] == "transfer_request", asked.stdout
    [warned] = _key_warnings(asked)
    assert "not in the service directory" in warned and "cpcm service add ID" in warned and "--recipient age1" in warned, warned
    assert f"cpcm transfer {case_id} ... --recipient age1" in warned and "kilifi-cpu" not in warned  # a code typed is not repeated
    approved = sup("approve", case_id, "transfer", "--json")
    [again] = _key_warnings(approved)
    assert "cpcm service add ID" in again, again
    assert CANARY not in asked.stderr + approved.stderr
    # the last step still needs the key: given there, the bundle is written
    bundle = tmp_env / "b.age"
    missing = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--out", str(bundle))
    assert missing.code == 2 and "--recipient" in missing.stderr and not bundle.exists()
    done = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--recipient", receiving.keys["wanjiru"][1], "--out", str(bundle))
    assert done.code == 0, done.stderr


def test_transfer__to_a_directory_entry_without_a_key_warns_until_its_key_is_on_file(sending, receiving, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    added = sup("service", "add", "kilifi-cpu", "--provider", "Kilifi Child Protection Unit", "--sector", "alternative_care",
                "--offers", "case management")
    assert added.code == 0, added.stderr
    case_id = register(amina)
    _consented(amina, case_id, "kilifi-cpu")
    asked = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--json")
    [warned] = _key_warnings(asked)
    assert "the service directory holds no age key for kilifi-cpu" in warned, warned
    assert "cpcm service update kilifi-cpu --set recipient=age1" in warned and "--recipient age1" in warned, warned
    # a request that gives the key itself is not warned at the request
    other = register(amina)
    _consented(amina, other, "kilifi-cpu")
    given = amina("transfer", other, "--to", "kilifi-cpu", *WHY, "--recipient", receiving.keys["wanjiru"][1], "--json")
    assert not _key_warnings(given), given.json()
    # the key put on file before the approval: the approval does not warn, and the bundle is written without --recipient
    updated = sup("service", "update", "kilifi-cpu", "--set", f"recipient={receiving.keys['wanjiru'][1]}")
    assert updated.code == 0, updated.stderr
    approved = sup("approve", case_id, "transfer", "--json")
    assert not _key_warnings(approved), approved.json()
    done = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--out", str(tmp_env / "b.age"))
    assert done.code == 0, done.stderr


def test_transfer__an_agency_with_its_key_on_file_is_not_warned(sending, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    _consented(amina, case_id, "recv")
    asked = amina("transfer", case_id, "--to", "recv", *WHY, "--json")
    assert not _key_warnings(asked), asked.json()
    assert not _key_warnings(sup("approve", case_id, "transfer", "--json"))


def test_transfer__a_request_given_recipient_keeps_the_key_for_the_last_step_and_its_approval_does_not_warn(sending, receiving,
                                                                                                           cli_as, tmp_env):
    """The key given with the request (--recipient) is kept in the request's encrypted record: the
    approval does not warn of no key, and the run that writes the bundle uses it without retyping
    it (a key given at that run is used instead)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, **canary())
    assert sup("consent", case_id, "--override", "--purpose", "transfer", "--agency", "kilifi-cpu", "--basis", "best_interests",
               "--reason", "the family moved; the county office takes the case").code == 0
    key = receiving.keys["wanjiru"][1]
    asked = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--recipient", key, "--json")
    assert asked.json()["kind"] == "transfer_request" and not _key_warnings(asked), asked.stdout
    approved = sup("approve", case_id, "transfer", "--json")
    assert not _key_warnings(approved), approved.json()
    bundle = tmp_env / "b.age"
    done = amina("transfer", case_id, "--to", "kilifi-cpu", *WHY, "--out", str(bundle), "--json")
    assert done.code == 0 and done.json()["kind"] == "transfer", done.stderr
    assert decrypt(bundle.read_bytes(), receiving.keys["wanjiru"][0])  # encrypted to the key given with the request
    assert CANARY not in asked.stderr + approved.stderr + done.stderr
