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
from test_sync import laptops, same_id_on_two_copies  # noqa: F401 - laptops: the fixture, a bare remote and a clone per worker


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


def _due(cli, *args: str) -> list[dict]:
    done = cli("due", "--json", *args)
    assert done.code == 0, done.stderr
    return done.json()


def test_due__an_entry_whose_readers_lag_the_team_is_told_to_its_readers_until_team_sync(cli_as, repo, tmp_env):
    """An entry amina writes excluding the manager: the manager adds a second manager and cannot
    re-encrypt it (he does not read it), so it stays encrypted to amina and sup. sup's `due` (a
    reader) names it, code confidential-readers, on text and JSON, until his `team sync` brings
    the new manager in; the excluded manager's and another caseworker's `due` never name it, nor
    the writer's own list (a caseworker: not hers to act on; she reads it, so `--worker all` may)."""
    from conftest import NOW, Cli, make_identity

    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    assert sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr.txt")).code == 0
    mgr = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "mgr.txt"), "CPCM_NOW": NOW})
    case_id = register(amina)
    entry_id = _add(amina, case_id, "--exclude", "mgr")
    recipients = repo / "confidential" / entry_id / "recipients"
    assert recipients.read_text().splitlines()[1:] == ["amina", "sup"]
    assert not [i for i in _due(sup, "--worker", "all") if i["code"] == "confidential-readers"]  # in line
    added = mgr("team", "add", "mgr2", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr2.txt"), "--json")
    assert added.code == 0, added.stderr
    assert recipients.read_text().splitlines()[1:] == ["amina", "sup"]  # mgr cannot read it: left as it is
    assert entry_id not in added.stdout + added.stderr
    lag = [i for i in _due(sup) if i["code"] == "confidential-readers"]
    assert len(lag) == 1 and entry_id in lag[0]["title"] and "cpcm team sync" in lag[0]["why"], lag
    assert case_id not in json.dumps(lag)  # the entry is named, never its case
    text = sup("due")
    assert text.code == 0 and entry_id in text.stdout, text.stdout
    for cli, asked in ((mgr, ("--worker", "all")), (otieno, ("--worker", "all")), (amina, ())):
        for args in (("due", "--json", *asked), ("due", *asked)):
            seen = cli(*args)
            assert entry_id not in seen.stdout + seen.stderr, (args, seen.stdout)
    synced = sup("team", "sync")
    assert synced.code == 0, synced.stderr
    assert recipients.read_text().splitlines()[1:] == ["amina", "sup", "mgr2"]
    assert not [i for i in _due(sup, "--worker", "all") if i["code"] == "confidential-readers"]


def test_confidential__readers_item_and_in_line_unread_are_the_rule():
    """Pure: a worker removed who still reads an entry, or a manager added who does not yet, makes
    the item (for the supervisors and managers, the excluded barred); a manager excluded who does
    not read it makes none, and the `recipients` file alone never calls that entry in line."""
    from datetime import datetime, timezone

    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import confidential as rules

    now = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
    team = Team((Worker("sup", "S", ("supervisor",), "age1a"), Worker("mgr", "M", ("manager",), "age1b"),
                 Worker("amina", "A", ("caseworker",), "age1c"), Worker("otieno", "O", ("caseworker",), "age1d", removed="2026-11-01")))
    apart = rules.Entry("SC-0000-0000", "CP-0000-0000", "2026-11-01T09:00:00+00:00", "amina", "x", ("mgr",), "R")
    assert rules.readers_item(apart, team, ["amina", "sup"], now) is None  # mgr excluded: in line
    assert not rules.in_line_unread(team, ["amina", "sup"])  # ... which only its record tells
    assert rules.in_line_unread(team, ["amina", "sup", "mgr"])
    item = rules.readers_item(apart, team, ["amina", "sup", "otieno"], now)  # otieno removed, still reads it
    assert item is not None and item.code == "confidential-readers" and item.barred == ("mgr",) and apart.id in item.title
    assert "CP-0000-0000" not in item.title + item.why
    assert not rules.in_line_unread(team, ["amina", "sup", "mgr", "otieno"])
    everyone = rules.Entry("SC-0000-0000", "CP-0000-0000", "2026-11-01T09:00:00+00:00", "amina", "x", (), "R")
    assert rules.readers_item(everyone, team, ["amina", "sup"], now) is not None  # mgr added since: not yet a reader


def test_sync__an_entry_of_a_case_given_a_new_id_is_said_to_the_reader_merging(laptops, monkeypatch):
    """Two copies register two cases under one ID, each with an entry. The merge gives one case a
    new ID; the entry written of it still names the old ID (never rewritten): the supervisor
    merging, who reads it, is told its ID and the two case IDs; never the other entry, and a
    caseworker who does not read it is told nothing of it on her next sync."""
    amina, sup, mine, theirs = same_id_on_two_copies(laptops, monkeypatch)
    assert mine == theirs
    of_mine, of_theirs = _add(amina, mine), _add(sup, theirs)
    laptops.sync("amina")
    merged = laptops.sync("sup")
    assert len(merged["reidentified"]) == 1, merged
    new = merged["reidentified"][0]["new"]
    moved_is_mine = sup("show", new, "--json").json()["child"]["name"] == "First Child"
    left, stays = (of_mine, of_theirs) if moved_is_mine else (of_theirs, of_mine)
    said = [n for n in merged["notes"] if "strictly confidential entry" in n]
    assert len(said) == 1 and left in said[0] and new in said[0] and mine in said[0], merged["notes"]
    assert stays not in json.dumps(merged["notes"])
    assert sup("confidential", "show", left, "--json").json()["case_id"] == mine  # as the note says: never rewritten
    told = laptops.sync("amina")
    assert of_theirs not in json.dumps(told), told


def test_confidential_add__a_removed_worker_excluded_is_refused_and_the_help_says_what_is_accepted(cli_as, repo):
    from conftest import head

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert sup("team", "remove", "otieno").code == 0
    before = head(repo)
    refused = amina("confidential", "add", case_id, "--text", CANARY, "--exclude", "otieno")
    assert refused.code == 4 and "exclude: names a worker removed from the team" in refused.stderr, refused.stderr
    assert CANARY not in refused.stderr and head(repo) == before and not (repo / "confidential").exists()
    helped = amina("confidential", "add", "--help")
    text = " ".join(helped.stdout.split())
    assert helped.code == 0 and "process list" in text and "--text -" in text, helped.stdout
    assert "never you, nor a worker removed from the team" in text, text


def test_sync__a_team_sync_of_a_complaint_about_you_arrives_unsaid(laptops, tmp_env):
    """A complaint about sup (amina and mgr read it). On mgr's laptop, sup adds a second manager
    and cannot re-encrypt it; mgr's `team sync` there brings it in line: a commit touching that
    complaint only, its message counting complaints; then sup sets otieno's cadre there. sup's sync
    takes the team sync in without saying so: not in `team_changes`, not among the `commits`;
    amina, a reader, is told of it, among the team changes where it was made (oldest first)."""
    from conftest import NOW, Cli, make_identity, signing_line

    _add_manager(laptops, tmp_env)
    laptops.sync("sup")
    amina, mgr = laptops.laptop("amina"), laptops.laptop("mgr")
    recorded = _record(amina, "--from", "caregiver", "--setting", "family", "--about-worker", "sup", "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    laptops.sync("amina")
    laptops.sync("sup")
    laptops.sync("mgr")
    sup_there = Cli({"CPCM_REPO": str(laptops.clones["mgr"]), "CPCM_IDENTITY": str(laptops.keys["sup"][0]), "CPCM_NOW": NOW})
    key = tmp_env / "keys" / "mgr2.txt"
    added = sup_there("team", "add", "mgr2", "--role", "manager", "--recipient", make_identity(key),
                      "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    synced = mgr("team", "sync")
    assert synced.code == 0, synced.stderr
    message = subprocess.run(["git", "-C", str(laptops.clones["mgr"]), "log", "-1", "--format=%s"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert message == "team sync 0 cases", message  # never a count of complaints: every copy reads it
    assert sup_there("team", "cadre", "otieno", "officer").code == 0
    laptops.sync("mgr")
    told = laptops.sync("sup")
    # his own, made on mgr's laptop
    assert told["team_changes"] == ["team add mgr2", "team cadre otieno officer"] and told["commits"] == 2, told
    assert complaint_id not in json.dumps(told), told
    brought = laptops.sync("amina")
    assert brought["team_changes"] == ["team add mgr2", message, "team cadre otieno officer"], brought
    assert brought["commits"] == 3, brought
