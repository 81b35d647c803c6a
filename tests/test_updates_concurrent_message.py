"""One field of the registration updated on two copies apart to different values
(`updates-concurrent`): `cpcm check` names the field, both values and who wrote each, which stands,
and the command that settles it; an update of that field settles it. The values are data `check`
shows (stdout); the sync's warning, the settling command's message and the commits carry field
names and record IDs only."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import CANARY, git
from test_sync import check_codes, laptops, merge_both, shared_case  # noqa: F401 (laptops: a fixture)

THEIRS = f"{CANARY} Otherplace"
OURS = f"{CANARY} Thisplace"


def updates_problem(cli, case_id: str) -> dict:
    found = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "updates-concurrent"]
    assert len(found) == 1, found
    return found[0]


def test_updates_concurrent__check_names_the_field_both_values_their_writers_and_the_command(laptops):
    amina, sup, case_id = shared_case(laptops)
    mine = amina("update", case_id, "--set", f"location={OURS}", "--reason", "moved", "--json")
    theirs = sup("update", case_id, "--set", f"location={THEIRS}", "--set", "lives_with=mother", "--reason", "moved", "--json")
    assert mine.code == 0 and theirs.code == 0, (mine.stderr, theirs.stderr)
    laptops.sync("amina")
    synced = laptops.cli("sup")("sync", "--json")
    assert synced.code == 0 and CANARY not in synced.stderr and CANARY not in synced.stdout, synced.stderr
    laptops.sync("amina")
    message = updates_problem(sup, case_id)["message"]
    mine_id, theirs_id = mine.json()["record_id"], theirs.json()["record_id"]
    assert "location" in message and "lives_with" not in message, message  # only the field they disagree on
    assert f"'{OURS}' by amina ({mine_id})" in message and f"'{THEIRS}' by sup ({theirs_id})" in message, message
    assert f"cpcm update {case_id} --set location=VALUE" in message, message
    # settled by the update of the field that is right, whose message names no value
    settled = amina("update", case_id, "--set", f"location={OURS}", "--reason", "checked with the family")
    assert settled.code == 0, settled.stderr
    assert "settles the sync conflict (updates-concurrent)" in settled.stderr, settled.stderr
    assert CANARY not in settled.stderr, settled.stderr
    assert "updates-concurrent" not in check_codes(amina, case_id)
    for root in laptops.clones.values():
        assert CANARY not in git(Path(root), "log", "--all", "--format=%B")


def test_updates_concurrent__an_update_of_another_field_settles_nothing(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert amina("update", case_id, "--set", "lives_with=mother", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "lives_with=father", "--reason", "moved").code == 0
    merge_both(laptops)
    message = updates_problem(amina, case_id)["message"]
    assert "lives_with: 'mother' by amina" in message and "'father' by sup" in message, message
    assert amina("update", case_id, "--set", "location=Kondele", "--reason", "moved").code == 0
    assert "updates-concurrent" in check_codes(amina, case_id)


def test_updates_concurrent__a_note_that_settles_it_repeats_what_check_said_without_the_values(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert amina("update", case_id, "--set", f"location={OURS}", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", f"location={THEIRS}", "--reason", "moved").code == 0
    merge_both(laptops)
    assert OURS in updates_problem(amina, case_id)["message"]
    noted = amina("note", case_id, "--text", "checked with the family: the one in force is right")
    assert noted.code == 0, noted.stderr
    assert "until now cpcm check said" in noted.stderr and "location" in noted.stderr, noted.stderr
    assert CANARY not in noted.stderr, noted.stderr
    assert "updates-concurrent" not in check_codes(amina, case_id)
