"""What a sync tells of complaints and strictly confidential entries: never one you do not read
(a complaint may be about you), neither by name nor by a count: not among the folders left to
re-encrypt, not among the commits that arrived."""
from __future__ import annotations

import json
import shutil
import subprocess

from conftest import CANARY, register
from test_complaints import _add_manager, _record
from test_confidential import _add
from test_sync import laptops  # noqa: F401 - the fixture: a bare remote and a clone per worker


def test_sync__the_worker_a_complaint_is_about_merging_a_removal_is_not_told_of_it(laptops, tmp_env):
    """A complaint about otieno and mgr (amina and sup read it) reaches otieno's copy; mgr, who does
    not read it, removes amina on a copy that has not heard of it, so the merged team asks the
    complaint's readers to change. Otieno's sync cannot re-encrypt it: its readers' team sync
    will, and otieno is told nothing of it, in text or in JSON."""
    _add_manager(laptops, tmp_env)
    laptops.sync("sup")
    amina, otieno, mgr = laptops.laptop("amina"), laptops.laptop("otieno"), laptops.laptop("mgr")
    recorded = _record(amina, "--from", "child", "--setting", "residential", "--about-worker", "otieno",
                       "--about-worker", "mgr", "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    laptops.sync("amina")
    laptops.sync("otieno")  # the complaint is on otieno's copy now (encrypted to amina and sup)
    removed = mgr("team", "remove", "amina")  # on a copy that has not heard of the complaint
    assert removed.code == 0, removed.stderr
    register(otieno)  # a commit of otieno's own: his next sync is a merge
    laptops.sync("mgr")
    # a second copy of otieno's laptop, to see the same merge in JSON and in text
    twin = tmp_env / "laptop-otieno-twin"
    shutil.copytree(laptops.clones["otieno"], twin)
    as_json = laptops.sync("otieno")
    assert as_json["merged"] and "team remove amina" in as_json["team_changes"], as_json
    assert complaint_id not in json.dumps(as_json) and as_json["not_reencrypted"] == [], as_json
    laptops.clones["otieno"] = twin
    as_text = laptops.cli("otieno")("sync")
    assert as_text.code == 0, as_text.stderr
    told = as_text.stdout + as_text.stderr
    assert complaint_id not in told and "need re-encrypting" not in told and "complaint" not in told, told
    assert "team: remove amina" in told, told


def test_sync__commits_that_only_bring_entries_you_do_not_read_are_not_counted(laptops):
    """Two entries amina writes (she and sup read them) arrive on otieno's copy: he is told
    neither of them nor of the two commits that brought them; sup is told of both."""
    amina, otieno = laptops.laptop("amina"), laptops.laptop("otieno")
    case_id = register(amina)
    laptops.sync("amina")
    assert laptops.sync("otieno")["commits"] == 1  # the registration
    first, second = _add(amina, case_id), _add(amina, case_id, text=f"second {CANARY}")
    laptops.sync("amina")
    twin = laptops.tmp / "laptop-otieno-twin"
    shutil.copytree(laptops.clones["otieno"], twin)
    told = laptops.sync("otieno")
    assert told["commits"] == 0 and told["records"] == 0 and told["by"] == {}, told
    assert first not in json.dumps(told) and second not in json.dumps(told)
    assert subprocess.run(["git", "-C", str(laptops.clones["otieno"]), "ls-files", "confidential"], capture_output=True,
                          text=True, check=True).stdout.count("recipients") == 2  # both arrived all the same
    laptops.clones["otieno"] = twin
    as_text = laptops.cli("otieno")("sync")
    assert as_text.code == 0 and "nothing new arrived" in as_text.stderr, as_text.stdout + as_text.stderr
    assert "commit(s) arrived" not in as_text.stdout + as_text.stderr
    brought = laptops.sync("sup")
    assert brought["commits"] >= 3 and sorted(brought["confidential"]) == sorted([first, second]), brought
