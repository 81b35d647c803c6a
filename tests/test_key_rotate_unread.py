"""A key change made by someone who cannot read a complaint (or a strictly confidential entry) the
worker reads: a supervisor replaces a caseworker's lost key, and the caseworker recorded a
complaint about that supervisor. The complaint is left encrypted to the old key, and its
`recipients` file says so (`# rekey: WORKER`, a worker id only); every supervisor and manager who
reads it finds it on `cpcm due` (complaint-readers / confidential-readers) and brings it to the new
key with `cpcm team sync`; `cpcm verify` reports it (recipients-rekey) to its readers; the one who
made the change is never told of it (it may be about them)."""
from __future__ import annotations

import json

from conftest import CANARY, NOW, Cli, git, git_status, make_identity, register, signing_line
from test_recovery_drill import agency  # noqa: F401 - the fixture: a manager, a caseworker, a recovery key
from test_sync import Laptops
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod

LATER = "2026-11-24T09:00:00+03:00"


def _opens(path, identity_file) -> bool:
    try:
        cipher.decrypt(path.read_bytes(), identity_mod.load(identity_file, lambda: None).keys)
        return True
    except cipher.NotARecipient:
        return False


def _add(sup: Cli, tmp_env, worker: str, role: str) -> Cli:
    """A worker added by `sup` with a key (and its signing key) of their own; their Cli on `sup`'s repository."""
    key = tmp_env / "keys" / f"{worker}.txt"
    added = sup("team", "add", worker, "--role", role, "--recipient", make_identity(key), "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    return Cli({**sup.env, "CPCM_IDENTITY": str(key)})


def _titles(cli: Cli, *args: str) -> list[str]:
    done = cli("due", "--json", *args)
    assert done.code == 0, done.stderr
    return [item["title"] for item in done.json()]


def _team(cli_as, tmp_env):
    """sup (S1) and sup2 (S2) supervisors, mgr (M) a manager, amina (W) a caseworker."""
    sup = cli_as("sup")
    return sup, _add(sup, tmp_env, "sup2", "supervisor"), _add(sup, tmp_env, "mgr", "manager"), cli_as("amina")


def _lost(sup: Cli, tmp_env, worker: str = "amina"):
    """`sup` replaces `worker`'s key as lost; (the result, the new identity's path)."""
    new_path = tmp_env / "keys" / f"{worker}-new.txt"
    done = sup("key", "rotate", "--worker", worker, "--recipient", make_identity(new_path), "--signing-key",
               signing_line(new_path), "--reason", "lost", "--json")
    assert done.code == 0, done.stderr
    return done, new_path


def _laptops_with_a_complaint_about_sup(repo, team, tmp_env, sups_own: bool = False):
    """Laptops of the team with a manager added, and amina's complaint about sup recorded and synced:
    (the laptops, sup's command line, the complaint's ID). `sups_own`: a complaint sup records (and reads)
    goes before it."""
    laptops = Laptops(repo, team, tmp_env)
    sup = laptops.cli("sup")
    key = tmp_env / "keys" / "mgr.txt"
    public = make_identity(key)
    assert sup("team", "add", "mgr", "--role", "manager", "--recipient", public, "--signing-key", signing_line(key)).code == 0
    laptops.keys["mgr"] = (key, public)
    if sups_own:
        recorded = sup("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--summary", CANARY)
        assert recorded.code == 0, recorded.stderr
    amina_cli = Cli({**sup.env, "CPCM_IDENTITY": str(team["amina"][0])})
    about = amina_cli("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                      "--summary", CANARY)
    assert about.code == 0, about.stderr
    laptops.sync("sup")
    return laptops, sup, about.json()["complaint_id"]


def test_rekey__a_complaint_about_the_rotating_supervisor_comes_back_to_the_new_key(cli_as, repo, team, tmp_env):
    sup, sup2, mgr, amina = _team(cli_as, tmp_env)
    case_id = register(amina)
    recorded = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                     "--case", case_id, "--summary", f"says {CANARY}")
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    folder = repo / "complaints" / complaint_id
    assert [line for line in (folder / "recipients").read_text().splitlines() if not line.startswith("#")] == \
        ["amina", "sup2", "mgr"]
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())  # what the lost laptop holds

    done, new_path = _lost(sup, tmp_env)
    # the one who made the change is never told of it: neither named nor counted, in its text or its --json
    assert complaint_id not in done.stdout + done.stderr, done.stdout + done.stderr
    out = done.json()
    assert out["not_reencrypted"] == [] and out["reencrypted"]["complaints"] == []
    assert git(repo, "log", "-1", "--format=%s").strip() == "team rotate amina"
    text = (folder / "recipients").read_text()
    assert "# rekey: amina" in text.splitlines() and CANARY not in text and "sup\n" not in text  # a worker id only
    records = sorted(folder.glob("*.yaml.age"))
    assert records and all(_opens(p, old_key) and not _opens(p, new_path) for p in records)  # left to the old key
    new_amina = Cli({**amina.env, "CPCM_IDENTITY": str(new_path)})
    refused = new_amina("complaint", "show", complaint_id)
    assert refused.code == 5 and "still encrypted to your earlier key" in refused.stderr, refused.stderr
    sup_rotated = sup("complaint", "show", complaint_id)
    assert sup_rotated.code == 5  # still not theirs to read
    # nothing of it on the due list of the one it is about, nor on their verify
    assert not [t for t in _titles(sup, "--worker", "all") if "complaint" in t]
    verified = sup("verify", "--json")
    assert complaint_id not in verified.stdout and "recipients-rekey" not in verified.stdout

    # its readers who can read it are told, due at once
    title = f"complaint {complaint_id}: its readers to bring in line"
    assert title in _titles(mgr) and title in _titles(sup2)
    item = next(i for i in mgr("due", "--json").json() if i["title"] == title)
    assert item["code"] == "complaint-readers" and "old key" in item["why"] and "amina" not in json.dumps(item)
    checked = mgr("verify", "--json")
    assert [p["code"] for p in checked.json() if complaint_id in p.get("message", "") + str(p.get("case", ""))] == \
        ["recipients-rekey"], checked.stdout

    synced = mgr("team", "sync", "--json")
    assert synced.code == 0, synced.stderr
    assert synced.json()["complaints_reencrypted"] == 1
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 0 cases"
    assert git_status(repo) == []
    assert "# rekey" not in (folder / "recipients").read_text()
    assert all(not _opens(p, old_key) and _opens(p, new_path) for p in sorted(folder.glob("*.yaml.age")))
    shown = new_amina("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    assert CANARY in shown.json()["summary"]
    assert title not in _titles(mgr) and title not in _titles(sup2)
    for who in (mgr, sup):
        again = who("verify", "--json")
        assert "recipients-rekey" not in again.stdout and complaint_id not in again.stdout, again.stdout
    checked = mgr("verify")
    assert checked.code == 0, checked.stdout + checked.stderr


def test_rekey__a_confidential_entry_that_excludes_the_rotating_supervisor_comes_back_to_the_new_key(cli_as, repo, team, tmp_env):
    sup, sup2, mgr, amina = _team(cli_as, tmp_env)
    case_id = register(amina)
    written = amina("confidential", "add", case_id, "--text", f"disclosed {CANARY}", "--exclude", "sup", "--json")
    assert written.code == 0, written.stderr
    entry_id = written.json()["entry_id"]
    folder = repo / "confidential" / entry_id
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())

    done, new_path = _lost(sup, tmp_env)
    assert entry_id not in done.stdout + done.stderr and done.json()["reencrypted"]["confidential"] == []
    assert "# rekey: amina" in (folder / "recipients").read_text().splitlines()
    new_amina = Cli({**amina.env, "CPCM_IDENTITY": str(new_path)})
    assert new_amina("confidential", "show", entry_id).code == 5
    assert all(_opens(p, old_key) for p in folder.glob("*.yaml.age"))
    assert not [t for t in _titles(sup, "--worker", "all") if "confidential" in t]
    title = f"strictly confidential entry {entry_id}: its readers to bring in line"
    assert title in _titles(sup2) and title in _titles(mgr)
    assert "recipients-rekey" in sup2("verify", "--json").stdout and "recipients-rekey" not in sup("verify", "--json").stdout

    synced = sup2("team", "sync", "--json")
    assert synced.code == 0 and synced.json()["confidential_reencrypted"] == 1, synced.stdout + synced.stderr
    assert "# rekey" not in (folder / "recipients").read_text()
    assert all(not _opens(p, old_key) and _opens(p, new_path) for p in folder.glob("*.yaml.age"))
    shown = new_amina("confidential", "show", entry_id, "--json")
    assert shown.code == 0 and CANARY in shown.json()["text"], shown.stdout + shown.stderr
    assert title not in _titles(mgr)


def test_rekey__a_second_change_by_one_who_reads_it_takes_the_line_off(cli_as, repo, team, tmp_env):
    """The line is taken off by any change that encrypts every record of it again to the keys as they
    are now: here the manager, who reads it, replaces amina's key once more."""
    sup, _sup2, mgr, amina = _team(cli_as, tmp_env)
    recorded = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                     "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    folder = repo / "complaints" / recorded.json()["complaint_id"]
    _lost(sup, tmp_env)
    twice = sup("key", "rotate", "--worker", "amina", "--recipient", make_identity(tmp_env / "keys" / "amina-2.txt"),
                "--signing-key", signing_line(tmp_env / "keys" / "amina-2.txt"), "--json")
    assert twice.code == 0, twice.stderr
    assert (folder / "recipients").read_text().count("# rekey: amina") == 1  # one line for one worker
    again = tmp_env / "keys" / "amina-again.txt"
    done = mgr("key", "rotate", "--worker", "amina", "--recipient", make_identity(again), "--signing-key", signing_line(again),
               "--json")
    assert done.code == 0, done.stderr
    assert done.json()["reencrypted"]["complaints"] == [folder.name]
    assert "# rekey" not in (folder / "recipients").read_text()
    assert all(_opens(p, again) for p in folder.glob("*.yaml.age"))
    assert mgr("verify").code == 0


def test_rekey__an_own_rotation_reads_every_complaint_so_none_is_left(cli_as, repo, team, tmp_env):
    """A worker rotating their own key reads what they read: no complaint is left to the old key."""
    _sup, _sup2, _mgr, amina = _team(cli_as, tmp_env)
    recorded = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "sup",
                     "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    folder = repo / "complaints" / recorded.json()["complaint_id"]
    done = amina("key", "rotate", "--no-passphrase", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["reencrypted"]["complaints"] == [folder.name]
    assert "# rekey" not in (folder / "recipients").read_text()
    assert all(_opens(p, team["amina"][0]) for p in folder.glob("*.yaml.age"))  # the new identity, in the old one's place


def test_rekey__a_recovery_reads_every_complaint_so_none_is_left(agency, tmp_env):
    """The agency's recovery key is a recipient of every record: `cpcm team recover` re-encrypts every
    complaint the worker it acts for reads, one about the manager whose key is lost too."""
    root, keys, recovery = agency
    mgr = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["mgr"]), "CPCM_NOW": NOW})
    mgr2 = _add(mgr, tmp_env, "mgr2", "manager")
    amina = Cli({**mgr.env, "CPCM_IDENTITY": str(keys["amina"])})
    recorded = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "mgr",
                     "--summary", CANARY)
    assert recorded.code == 0, recorded.stderr
    complaint_id = recorded.json()["complaint_id"]
    new_key = tmp_env / "laptop2" / "identity"
    new_key.parent.mkdir()
    done = Cli({"CPCM_REPO": str(root), "CPCM_NOW": NOW})(
        "team", "recover", "mgr2", "--recipient", make_identity(new_key), "--recovery-identity", str(recovery), "--reason", "lost",
        "--signing-key", signing_line(new_key), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["reencrypted"]["complaints"] == [complaint_id]
    assert "# rekey" not in (root / "complaints" / complaint_id / "recipients").read_text()
    shown = Cli({**mgr2.env, "CPCM_IDENTITY": str(new_key)})("complaint", "show", complaint_id, "--json")
    assert shown.code == 0 and CANARY in shown.json()["summary"], shown.stderr


def test_rekey__a_sync_keeps_the_line_where_the_merging_worker_cannot_read_it_and_a_reader_s_sync_ends_it(repo, team, tmp_env):
    """sup replaces amina's key (a complaint about sup: left, marked) while the manager, apart, responds to it
    (a record encrypted to amina's old key). sup's merge cannot read it: the line stays (and says so of the
    response too); the manager's next sync reads it, encrypts every record to amina's new key and takes it off."""
    laptops, sup, complaint_id = _laptops_with_a_complaint_about_sup(repo, team, tmp_env, sups_own=True)
    mgr = laptops.laptop("mgr")
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())

    responded = mgr("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", f"spoke {CANARY}", "--json")
    assert responded.code == 0, responded.stderr
    assert laptops.sync("mgr")["pushed"]
    done, new_path = _lost(sup, tmp_env)
    merged = laptops.sync("sup")  # a merge: the rotation here, the response there
    assert merged["merged"] and complaint_id not in json.dumps(merged), merged
    recipients = laptops.repo / "complaints" / complaint_id / "recipients"
    assert "# rekey: amina" in recipients.read_text().splitlines()
    records = sorted((laptops.repo / "complaints" / complaint_id).glob("*.yaml.age"))
    assert len(records) == 2 and all(_opens(p, old_key) and not _opens(p, new_path) for p in records)

    fixed = laptops.sync("mgr")  # the manager reads it: every record to the keys as they are now
    assert complaint_id in fixed["reencrypted"], fixed
    mine = laptops.clones["mgr"] / "complaints" / complaint_id
    assert "# rekey" not in (mine / "recipients").read_text()
    assert all(_opens(p, new_path) and not _opens(p, old_key) for p in mine.glob("*.yaml.age"))
    laptops.sync("sup")
    assert "# rekey" not in recipients.read_text()
    new_amina = Cli({**sup.env, "CPCM_IDENTITY": str(new_path)})
    shown = new_amina("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    assert [h["kind"] for h in shown.json()["history"]] == ["complaint", "complaint_response"]
    assert git_status(laptops.repo) == [] and git_status(laptops.clones["mgr"]) == []


def test_rekey__a_readers_sync_that_only_moves_on_ends_it_a_non_readers_keeps_it(repo, team, tmp_env):
    """sup replaces amina's key and syncs; otieno (who does not read the complaint) moves on to it and keeps
    the line, telling nothing of it; the manager's sync moves on to it, reads it and ends it in its commit."""
    laptops, sup, complaint_id = _laptops_with_a_complaint_about_sup(repo, team, tmp_env)
    otieno, mgr = laptops.laptop("otieno"), laptops.laptop("mgr")
    _done, new_path = _lost(sup, tmp_env)
    laptops.sync("sup")

    moved = laptops.sync("otieno")
    assert complaint_id not in json.dumps(moved), moved
    assert "# rekey: amina" in (laptops.clones["otieno"] / "complaints" / complaint_id / "recipients").read_text()
    assert git_status(laptops.clones["otieno"]) == []
    fixed = laptops.sync("mgr")
    assert complaint_id in fixed["reencrypted"], fixed
    mine = laptops.clones["mgr"] / "complaints" / complaint_id
    assert "# rekey" not in (mine / "recipients").read_text()
    assert all(_opens(p, new_path) for p in mine.glob("*.yaml.age"))
    assert mgr("verify").code == 0
    laptops.sync("otieno")
    assert "# rekey" not in (laptops.clones["otieno"] / "complaints" / complaint_id / "recipients").read_text()
    assert otieno("verify").code == 0


def test_rekey__the_line_is_a_worker_id_comment_that_readers_of_the_ids_pass_over():
    from cpcm.service.context import recipients_bytes
    from cpcm.store.layout import COMPLAINTS, CONFIDENTIAL, readers_from, rekey_from

    for top in (COMPLAINTS, CONFIDENTIAL):
        text = recipients_bytes(["amina", "sup2", "mgr"], top, rekey=["amina", "amina", "otieno"])
        assert readers_from(text) == ["amina", "sup2", "mgr"]  # what every release reads of the file
        assert rekey_from(text) == ["amina", "otieno"] and text.decode().count("# rekey: amina\n") == 1
        assert rekey_from(recipients_bytes(["amina", "mgr"], top)) == []
    assert rekey_from("#rekey:  amina  \n# rekey: Not An Id\n# rekey amina\n") == ["amina"]


def test_rekey__the_readers_item_is_due_at_once_for_a_folder_in_line_whose_records_wait_for_a_new_key():
    from datetime import datetime, timezone

    from cpcm.workflow.complaints import READERS_CODE, readers_lag_item

    now = datetime(2026, 11, 23, 6, tzinfo=timezone.utc)
    args = ("complaint", READERS_CODE, "complaint CM-AAAA-AAAA", ["amina", "mgr"], ["amina", "mgr"], ["sup"], "complaints", "s", now)
    assert readers_lag_item(*args) is None
    item = readers_lag_item(*args, ("amina",))
    assert item is not None and item.due == now and item.code == READERS_CODE and item.barred == ("sup",)
    assert "old key" in item.why and "amina" not in item.why + item.title
    lagging = readers_lag_item("complaint", READERS_CODE, "complaint CM-AAAA-AAAA", ["amina", "mgr", "mgr2"], ["amina", "mgr"],
                               ["sup"], "complaints", "s", now, ("amina",))
    assert lagging is not None and "not who the team now asks" in lagging.why


def test_rekey__a_readers_merge_that_finds_another_record_stale_brings_every_record_to_the_new_key(repo, team, tmp_env):
    """amina's complaint about sup, on two copies: on this one sup replaces amina's key (the complaint is left to the
    old key and marked); on the other the manager responds to it (a record encrypted to amina's old key) and pushes.
    The manager's sync here merges: the response is stale for another reason than the line, yet the complaint's own
    record, which is not, is on the old key too. Every record comes to the new key before the line goes; and the
    commit's message counts no complaint (the worker it is about reads it)."""
    laptops, sup, complaint_id = _laptops_with_a_complaint_about_sup(repo, team, tmp_env)
    mgr_elsewhere = laptops.laptop("mgr")  # copy C
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())
    _done, new_path = _lost(sup, tmp_env)  # on this copy (A): the complaint is marked
    folder = laptops.repo / "complaints" / complaint_id
    assert "# rekey: amina" in (folder / "recipients").read_text().splitlines()

    responded = mgr_elsewhere("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", f"spoke {CANARY}")
    assert responded.code == 0, responded.stderr
    assert laptops.sync("mgr")["pushed"]
    mgr_here = Cli({**sup.env, "CPCM_IDENTITY": str(laptops.keys["mgr"][0])})
    merged = mgr_here("sync", "--json")
    assert merged.code == 0, merged.stderr
    records = sorted(folder.glob("*.yaml.age"))
    assert len(records) == 2
    assert all(_opens(p, new_path) and not _opens(p, old_key) for p in records), \
        [(p.name, _opens(p, new_path)) for p in records]
    assert "# rekey" not in (folder / "recipients").read_text()
    shown = Cli({**sup.env, "CPCM_IDENTITY": str(new_path)})("complaint", "show", complaint_id, "--json")
    assert shown.code == 0, shown.stderr
    assert [h["kind"] for h in shown.json()["history"]] == ["complaint", "complaint_response"]
    assert git_status(laptops.repo) == []


def test_rekey__a_readers_sync_that_re_encrypts_a_complaint_counts_no_case_in_its_message(repo, team, tmp_env):
    """The manager's sync moves on to sup's key change and brings the complaint (about sup) to amina's new key: its
    commit, read by every copy, counts cases only, and no case was re-encrypted."""
    laptops, sup, complaint_id = _laptops_with_a_complaint_about_sup(repo, team, tmp_env)
    laptops.laptop("mgr")
    _lost(sup, tmp_env)
    laptops.sync("sup")
    fixed = laptops.sync("mgr")
    assert complaint_id in fixed["reencrypted"], fixed
    subjects = git(laptops.clones["mgr"], "log", "--format=%s").splitlines()
    assert subjects[0] == "sync reencrypt 0 cases", subjects  # as a sync that re-encrypted nothing of a case says
