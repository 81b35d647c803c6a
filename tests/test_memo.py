"""What a process keeps of what it has read (cpcm/store/memo.py) never gives a worker what their
own key cannot read, and never outlives a change of the file it came from."""
from __future__ import annotations

from conftest import library_session, register
from cpcm.store import memo


def test_a_record_read_by_one_worker_is_not_given_to_another_who_cannot_decrypt_it(cli_as):
    """Straight from the store, past the commands' own check of the case's readers."""
    import pytest

    from cpcm.errors import CannotDecrypt

    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = register(amina)
    assert sup("note", case_id, "--text", "seen").code == 0
    as_sup, as_otieno = library_session(sup), library_session(otieno)
    read = as_sup.store.read_records(case_id, as_sup.keys)  # decrypted, parsed and kept, as sup
    assert len(read) == 2 and len(memo.RECORDS) >= 2
    with pytest.raises(CannotDecrypt):  # otieno's key is no reader's: nothing kept is handed over
        as_otieno.store.read_records(case_id, as_otieno.keys)
    again = as_sup.store.read_records(case_id, as_sup.keys)
    assert again == read and again[0] is not read[0] and again[0].body is not read[0].body  # copies, not the kept ones


def test_a_changed_policy_file_is_read_again(repo, cli_as):
    sup = cli_as("sup")
    override = repo / ".cpcm" / "policy.yaml"

    def cap() -> int:
        shown = sup("policy", "show", "--json")
        assert shown.code == 0, shown.stderr
        return next(row["value"] for row in shown.json()["rules"] if (row["rule"], row["key"]) == ("caseload", "cap"))

    first = cap()
    override.parent.mkdir(exist_ok=True)
    override.write_text("rules:\n  caseload:\n    cap: 31\n")
    assert cap() == 31
    override.write_text("rules:\n  caseload:\n    cap: 32\n")  # the same size, written in place
    assert cap() == 32
    override.unlink()
    assert cap() == first


def test_a_changed_team_file_is_read_again(repo, cli_as):
    sup = cli_as("sup")

    def members() -> list[str]:
        return [worker["id"] for worker in sup("team", "list", "--json").json()]

    assert members() == ["sup", "amina", "otieno"]
    assert sup("team", "remove", "otieno").code == 0
    assert members() == ["sup", "amina"]


def test_the_kept_parsed_yaml_is_shared_and_what_is_read_from_it_is_the_readers_own(tmp_path):
    """The settings files are parsed once per version and the parse shared (a command reads the team and the
    config many times); a reader's values are its own: one changed by a caller is not what the next gets."""
    from cpcm.store import config

    (tmp_path / config.CONFIG).parent.mkdir(parents=True)
    (tmp_path / config.CONFIG).write_text("agency: {code: X, name: Y}\nremotes: {usb: {path: /media/usb}}\n")
    assert config._read_yaml(tmp_path, config.CONFIG) is config._read_yaml(tmp_path, config.CONFIG)
    first = config.load_config(tmp_path)
    first.extra["remotes"]["usb"]["path"] = "changed by the caller"
    assert config.load_config(tmp_path).extra["remotes"]["usb"]["path"] == "/media/usb"
    assert config._read_yaml(tmp_path, config.CONFIG)["remotes"]["usb"]["path"] == "/media/usb"


def test_the_agent_keeps_no_record_from_one_command_to_the_next(cli_as):
    from cpcm.cli import resident

    case_id = register(cli_as("amina"))
    assert cli_as("amina")("show", case_id).code == 0
    assert len(memo.RECORDS) > 0
    resident._forget()  # what the agent does before and after each command it runs
    assert len(memo.RECORDS) == 0


def test_the_cases_load_cases_loads_are_held_out_of_the_collectors_sight_until_the_next_command(cli, monkeypatch):
    """Every folded case `load_cases` loads (`team remove`'s check, a transfer, the caseload report without its
    tables) lives until the command ends: put out of the cyclic collector's sight once loaded (`memo.held_long`:
    about a third of `report timeliness`'s CPU time at 100,000 cases went on full collections walking them again,
    when it loaded them all), and given back when the next command starts (or, in the unlock agent, once the
    command ended), so that a process running many commands collects what they leave. (The reports and `check`
    read the cases a case at a time since: `context.CaseStream`.)"""
    import gc

    from cpcm.service import context

    register(cli)
    monkeypatch.setattr(memo, "HELD_FROM", 1)  # as many cases as a large agency's (2,000 and more)
    assert gc.get_freeze_count() == 0
    assert len(context.load_cases(library_session(cli))) == 1
    assert gc.get_freeze_count() > 0 and gc.isenabled()  # held, the collector running
    assert cli("--version").code == 0 and gc.get_freeze_count() == 0  # given back when the next command starts
    monkeypatch.setattr(memo, "HELD_FROM", 2)
    assert len(context.load_cases(library_session(cli))) == 1
    assert gc.get_freeze_count() == 0  # fewer cases: nothing held apart
