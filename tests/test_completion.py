"""Shell completion: scripts for bash, zsh and fish, and the IDs offered at a Tab press, read from
plain files only (case folders and their `recipients`, the team, the service directory)."""
from __future__ import annotations

import pytest

from conftest import register

pytestmark = pytest.mark.e2e


def complete(cli, words: str, env: dict | None = None) -> list[str]:
    """What bash would offer for the last word of `words` (a Tab press at the end of the line)."""
    parts = words.split(" ")
    result = cli.process(env={"_CPCM_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1),
                              **(env or {})})
    assert result.code == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _cpcm_completion cpcm"),
                                           ("zsh", "#compdef cpcm"), ("fish", "complete --no-files --command cpcm")])
def test_a_script_for_each_shell(cli, shell, marker):
    result = cli("completion", shell)
    assert result.code == 0, result.stderr
    assert marker in result.stdout
    assert "_CPCM_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error(cli):
    result = cli("completion", "tcsh")
    assert result.code == 2
    assert "bash, zsh or fish" in result.stderr


def test_command_names_and_options(cli):
    assert {"register", "show", "due", "completion"} <= set(complete(cli, "cpcm "))
    assert "referral" in complete(cli, "cpcm ref")
    assert "--worker" in complete(cli, "cpcm due --")


def test_case_ids_are_those_the_user_may_read(cli_as, team):
    mine = [register(cli_as("amina"), "--at", "2026-01-0%dT09:00:00+00:00" % day) for day in (1, 2)]
    theirs = register(cli_as("otieno"), "--at", "2026-01-03T09:00:00+00:00")
    offered = complete(cli_as("amina"), "cpcm show CP-")
    assert sorted(offered) == sorted(mine)
    assert theirs not in offered
    assert complete(cli_as("otieno"), "cpcm followup CP-") == [theirs]
    # a command taking several cases (consent CASE CASE ... --override) offers them for each
    assert sorted(complete(cli_as("amina"), "cpcm consent CP-")) == sorted(mine)
    assert sorted(complete(cli_as("amina"), f"cpcm consent {mine[0]} CP-")) == sorted(mine)
    # a prefix narrows it; lower case is read as the ID's upper case
    assert complete(cli_as("amina"), f"cpcm show {mine[0][:7].lower()}") == [c for c in mine if c.startswith(mine[0][:7])]


def test_case_ids_are_offered_in_a_repository_of_format_1_that_no_command_has_upgraded_yet(cli_as, team, repo):
    """Completion writes nothing, so it does not upgrade a copy an earlier release left in format 1: it finds the
    case folders where that format has them, and after the upgrade where format 2 has them."""
    from format1 import rewrite_as_format1

    mine = [register(cli_as("amina"), "--at", "2026-01-0%dT09:00:00+00:00" % day) for day in (1, 2)]
    rewrite_as_format1(repo)
    assert sorted(complete(cli_as("amina"), "cpcm show CP-")) == sorted(mine)
    assert complete(cli_as("amina"), f"cpcm show {mine[0]}") == [mine[0]]
    assert cli_as("amina")("list").code == 0  # upgraded
    assert sorted(complete(cli_as("amina"), "cpcm show CP-")) == sorted(mine)


def test_a_protected_identity_is_never_unlocked_to_complete(cli_as, team, tmp_env):
    """With a passphrase-protected key, the `.pub` file `cpcm key new` writes tells whose cases to offer."""
    case = register(cli_as("amina"), "--at", "2026-01-01T09:00:00+00:00")
    other = register(cli_as("otieno"), "--at", "2026-01-02T09:00:00+00:00")
    protected = tmp_env / "keys" / "protected.txt"
    secret = tmp_env / "pass.txt"
    secret.write_text("correct horse battery\n")
    made = cli_as("sup")("key", "new", "--out", str(protected), "--json", env={"CPCM_PASSPHRASE_FILE": str(secret)})
    assert made.code == 0, made.stderr
    recipient = (tmp_env / "keys" / "protected.txt.pub").read_text().strip()
    assert recipient.startswith("age1") and recipient in made.stdout
    added = cli_as("sup")("team", "add", "wanjiru", "--role", "caseworker", "--recipient", recipient)
    assert added.code == 0, added.stderr
    assign = cli_as("sup")("assign", other, "--worker", "wanjiru")
    assert assign.code == 0, assign.stderr
    wanjiru = cli_as("sup", CPCM_IDENTITY=str(protected))
    assert complete(wanjiru, "cpcm show CP-") == [other]  # no passphrase file given: nothing asked, nothing unlocked
    # without the .pub file the worker is unknown: every case ID is offered (IDs carry no personal data)
    (tmp_env / "keys" / "protected.txt.pub").unlink()
    assert sorted(complete(wanjiru, "cpcm show CP-")) == sorted([case, other])


def test_worker_and_service_ids(cli_as):
    sup = cli_as("sup")
    added = sup("service", "add", "kisumu-clinic", "--provider", "Kisumu clinic", "--sector", "health", "--offers", "child health")
    assert added.code == 0, added.stderr
    assert complete(sup, "cpcm due --worker ") == ["amina", "otieno", "sup"]
    assert complete(sup, "cpcm due --worker o") == ["otieno"]
    assert complete(sup, "cpcm service show k") == ["kisumu-clinic"]
    assert complete(sup, "cpcm service add k") == []  # a new service's id is not one to complete
    assert complete(sup, "cpcm team add o") == []
    assert complete(sup, "cpcm team remove o") == ["otieno"]
