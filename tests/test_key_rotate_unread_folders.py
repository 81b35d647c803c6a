"""A key change made by someone who cannot read a case, a conference or a supervision session the
worker reads: a supervisor replaces a manager's key while a closed case is restricted to the managers
(`cpcm retention --restrict`); a second supervisor replaces a caseworker's key while the supervisor who
held a session with her is its only other reader; a supervisor replaces a caseworker's key while a
conference is not encrypted to them. The folder is named to the one making the change
(`not_reencrypted`, as before), left encrypted to the old key, and its `recipients` file says so
(`# rekey: WORKER`, a worker id only, its other lines as they were); its readers who act on it find it
on `cpcm due` (case-readers, conference-readers, supervision-readers) and `cpcm verify`
(recipients-rekey), and bring it to the new key with `cpcm team sync` (or their sync), which takes the
line off."""
from __future__ import annotations

import json
import subprocess

from conftest import CANARY, NOW, Cli, git, git_status, make_identity, register, signing_line
from test_key_rotate_unread import _opens
from test_restriction_mismatch import AFTER, closed  # noqa: F401 - the fixture: a closed case, a manager
from test_sync import Laptops
from cpcm.store.layout import case_dir

CASE_CODE, CONFERENCE_CODE, SESSION_CODE = "case-readers", "conference-readers", "supervision-readers"


def _add(by: Cli, tmp_env, worker: str, role: str) -> tuple[Cli, object]:
    key = tmp_env / "keys" / f"{worker}.txt"
    key.parent.mkdir(parents=True, exist_ok=True)
    added = by("team", "add", worker, "--role", role, "--recipient", make_identity(key), "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    return Cli({**by.env, "CPCM_IDENTITY": str(key)}), key


def _rotate(by: Cli, tmp_env, worker: str):
    """`by` replaces `worker`'s key as lost: (the result's --json, the new identity's path)."""
    new_path = tmp_env / "keys" / f"{worker}-new.txt"
    done = by("key", "rotate", "--worker", worker, "--recipient", make_identity(new_path), "--signing-key",
              signing_line(new_path), "--reason", "lost", "--json")
    assert done.code == 0, done.stderr
    return done.json(), new_path


def _due(cli: Cli, *args: str) -> list[dict]:
    done = cli("due", "--json", *args)
    assert done.code == 0, done.stderr
    return done.json()


def _verify_codes(cli: Cli, folder_id: str) -> list[str]:
    return [p["code"] for p in cli("verify", "--json").json() if folder_id in p.get("message", "") + str(p.get("case", ""))]


def _marked(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("# rekey")]


def test_rekey__a_restricted_case_the_rotating_supervisor_cannot_read_comes_back_to_the_managers_new_key(closed, repo, cli_as,
                                                                                                        tmp_env):
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    mgr = Cli({**mgr.env, **later})
    sup = Cli({**cli_as("sup").env, **later})
    mgr2, _key = _add(sup, tmp_env, "mgr2", "manager")
    restricted = mgr("retention", case_id, "--restrict", "--reason", "retention period ended")
    assert restricted.code == 0, restricted.stderr
    recipients = case_dir(repo, case_id) / "recipients"
    before = recipients.read_text()
    assert "# restricted" in before and [r for r in before.splitlines() if not r.startswith("#")] == ["mgr", "mgr2"]
    old_key = tmp_env / "old-mgr.txt"
    old_key.write_bytes((tmp_env / "mgr.txt").read_bytes())

    out, new_path = _rotate(sup, tmp_env, "mgr")
    assert out["not_reencrypted"] == [case_id]  # named to the one making the change, as before
    text = recipients.read_text()
    assert _marked(recipients) == ["# rekey: mgr"] and CANARY not in text
    assert [line for line in text.splitlines() if not line.startswith("# rekey")] == before.splitlines()  # the rest kept
    records = sorted(recipients.parent.glob("*.yaml.age"))
    assert records and all(_opens(p, old_key) and not _opens(p, new_path) for p in records)
    new_mgr = Cli({**mgr.env, "CPCM_IDENTITY": str(new_path)})
    refused = new_mgr("show", case_id)
    # told why, and who brings it to the new key, as of a complaint (never the one who made the change)
    assert refused.code == 5 and "still encrypted to your earlier key" in refused.stderr and "team sync" in refused.stderr, \
        refused.stderr
    for args in (("list",), ("due", "--worker", "all")):
        listed = new_mgr(*args)
        assert "still encrypted to your earlier key" in listed.stderr and case_id in listed.stderr, (args, listed.stderr)
    # the other manager, who reads it, is told; the supervisor, who does not, is not
    title = f"case {case_id}: its readers to bring in line"
    item = next(i for i in _due(mgr2, "--worker", "all") if i["title"] == title)
    assert item["code"] == CASE_CODE and "old key" in item["why"] and "mgr" not in json.dumps(item).replace("mgr2", "")
    assert title in [i["title"] for i in _due(mgr2)]
    # due at once, as a complaint's: not overdue by the case's age (a week after its latest record); the same on a
    # second run, which reads the due table the first one filled
    week_later = "2033-12-01T09:00:00+03:00"
    for _run in range(2):
        item = next(i for i in _due(Cli({**mgr2.env, "CPCM_NOW": week_later}), "--worker", "all") if i["title"] == title)
        assert item["state"] == "due_soon" and item["due"] == week_later[:16] + week_later[19:], item
    assert title not in [i["title"] for i in _due(sup, "--worker", "all")]
    assert _verify_codes(mgr2, case_id) == ["recipients-rekey"]
    assert "recipients-rekey" not in sup("verify", "--json").stdout

    synced = mgr2("team", "sync", "--json")
    assert synced.code == 0, synced.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 1 cases"
    assert git_status(repo) == []
    assert _marked(recipients) == [] and recipients.read_text() == before  # `# restricted` kept, the line gone
    assert all(_opens(p, new_path) and not _opens(p, old_key) for p in sorted(recipients.parent.glob("*.yaml.age")))
    shown = new_mgr("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    assert title not in [i["title"] for i in _due(mgr2, "--worker", "all")]
    assert _verify_codes(mgr2, case_id) == []
    assert mgr2("verify").code == 0


def test_rekey__a_session_another_supervisor_held_comes_back_to_the_caseworkers_new_key(cli_as, repo, team, tmp_env):
    sup, amina = cli_as("sup"), cli_as("amina")
    sup2, _key = _add(sup, tmp_env, "sup2", "supervisor")
    held = sup("supervision", "record", "--no-input", "--json", "--worker", "amina", "--kind", "support",
               "--discussed", f"spoke of {CANARY}")
    assert held.code == 0, held.stderr
    session_id = held.json()["session_id"]
    recipients = repo / "supervision" / session_id / "recipients"
    before = recipients.read_text()
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())

    out, new_path = _rotate(sup2, tmp_env, "amina")
    assert out["not_reencrypted"] == [session_id]
    assert _marked(recipients) == ["# rekey: amina"] and CANARY not in recipients.read_text()
    records = sorted(recipients.parent.glob("*.yaml.age"))
    assert records and all(_opens(p, old_key) and not _opens(p, new_path) for p in records)
    new_amina = Cli({**amina.env, "CPCM_IDENTITY": str(new_path)})
    refused = new_amina("supervision", "show", session_id)
    assert refused.code == 5 and "still encrypted to your earlier key" in refused.stderr, refused.stderr
    title = f"supervision session {session_id}: its readers to bring in line"
    item = next(i for i in _due(sup) if i["title"] == title)
    assert item["code"] == SESSION_CODE and "amina" not in json.dumps(item)
    assert title not in [i["title"] for i in _due(sup2, "--worker", "all")]
    assert _verify_codes(sup, session_id) == ["recipients-rekey"]
    assert session_id not in sup2("verify", "--json").stdout

    synced = sup("team", "sync", "--json")
    assert synced.code == 0, synced.stderr
    assert synced.json()["supervision_reencrypted"] == 1
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 0 cases"
    assert git_status(repo) == []
    assert recipients.read_text() == before
    assert all(_opens(p, new_path) and not _opens(p, old_key) for p in sorted(recipients.parent.glob("*.yaml.age")))
    shown = new_amina("supervision", "show", session_id, "--json")
    assert shown.code == 0 and CANARY in shown.stdout, shown.stderr
    assert title not in [i["title"] for i in _due(sup)]
    assert sup("verify").code == 0


def test_rekey__a_merge_by_one_who_cannot_read_a_session_keeps_the_line_and_a_readers_sync_ends_it(repo, team, tmp_env):
    """sup2 replaces amina's key on the office copy (the session sup held with her: marked) while sup, on a
    laptop, corrects the session (a record to amina's old key). otieno, who reads neither, merges the two: the
    line stays. sup's sync reads the session, encrypts every record to amina's new key and takes it off."""
    laptops = Laptops(repo, team, tmp_env)
    sup = laptops.cli("sup")
    sup2, key = _add(sup, tmp_env, "sup2", "supervisor")
    laptops.keys["sup2"] = (key, None)
    held = sup("supervision", "record", "--no-input", "--json", "--worker", "amina", "--kind", "support",
               "--discussed", CANARY)
    assert held.code == 0, held.stderr
    session_id = held.json()["session_id"]
    laptops.sync("sup")
    otieno = laptops.laptop("otieno")
    usb = tmp_env / "usb.git"
    laptop = tmp_env / "laptop-sup-b"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(laptop)], check=True, capture_output=True)
    sup_b = Cli({"CPCM_REPO": str(laptop), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    corrected = sup_b("supervision", "record", "--corrects", session_id, "--discussed", f"more of {CANARY}",
                      "--reason", "notes", "--no-input", "--json")
    assert corrected.code == 0, corrected.stderr
    assert sup_b("remote", "add", "usb", str(usb), "--create").code == 0
    assert sup_b("sync", "usb").code == 0
    _out, new_path = _rotate(sup2, tmp_env, "amina")
    laptops.sync("sup")  # the rotation to origin
    assert otieno("sync", "origin").code == 0
    assert otieno("remote", "add", "usb", str(usb)).code == 0
    merged = otieno("sync", "usb", "--json")
    assert merged.code == 0 and merged.json()["merged"], merged.stdout + merged.stderr
    mine = laptops.clones["otieno"] / "supervision" / session_id
    assert _marked(mine / "recipients") == ["# rekey: amina"]
    assert len(list(mine.glob("*.yaml.age"))) == 2
    assert otieno("sync", "origin").code == 0

    fixed = laptops.sync("sup")
    office = repo / "supervision" / session_id
    assert session_id in fixed["reencrypted"], fixed
    assert _marked(office / "recipients") == []
    assert all(_opens(p, new_path) for p in office.glob("*.yaml.age"))
    assert git_status(repo) == []
    assert sup("verify").code == 0


def test_rekey__a_conference_not_encrypted_to_the_rotating_supervisor_comes_back_to_the_caseworkers_new_key(repo, team,
                                                                                                          tmp_env):
    """A conference held on the office copy while a second supervisor was added on a laptop apart; otieno, who
    does not read it, merges the two: its records are not encrypted to sup2, so its readers do not list them (a reader
    the records are not encrypted to is never listed: the file would say it is in line). sup2 then replaces amina's
    key: the conference is named to them and marked; sup, who reads it, brings it to her new key."""
    from test_conference_minutes_sync import _held

    laptops = Laptops(repo, team, tmp_env)
    laptop = tmp_env / "laptop-sup-b"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(laptop)], check=True, capture_output=True)
    sup_b = Cli({"CPCM_REPO": str(laptop), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    _at, conference_id, _case_id = _held(laptops)  # on the office copy, sent to origin
    _sup2_b, key = _add(sup_b, tmp_env, "sup2", "supervisor")
    usb = tmp_env / "usb.git"
    assert sup_b("remote", "add", "usb", str(usb), "--create").code == 0
    assert sup_b("sync", "usb").code == 0
    otieno = laptops.laptop("otieno")
    assert otieno("remote", "add", "usb", str(usb)).code == 0
    assert otieno("sync", "usb").code == 0
    assert otieno("sync", "origin").code == 0
    laptops.keys["sup2"] = (key, None)
    sup2 = laptops.laptop("sup2")
    folder = laptops.clones["sup2"] / "conferences" / conference_id
    assert "sup2" not in (folder / "recipients").read_text().splitlines()
    assert sup2("conference", "show", conference_id).code == 5  # not encrypted to them
    old_key = tmp_env / "old-amina.txt"
    old_key.write_bytes(team["amina"][0].read_bytes())

    out, new_path = _rotate(sup2, tmp_env, "amina")
    assert conference_id in out["not_reencrypted"]
    assert _marked(folder / "recipients") == ["# rekey: amina"]
    assert all(_opens(p, old_key) and not _opens(p, new_path) for p in folder.glob("*.yaml.age"))
    new_amina = Cli({"CPCM_REPO": str(laptops.clones["sup2"]), "CPCM_IDENTITY": str(new_path), "CPCM_NOW": NOW})
    assert new_amina("conference", "show", conference_id).code == 5
    assert laptops.sync("sup2")["pushed"]

    office = laptops.cli("sup")
    took = laptops.sync("sup")  # sup reads it: every record to the keys as they are now
    assert conference_id in took["reencrypted"], took
    office_folder = repo / "conferences" / conference_id
    assert _marked(office_folder / "recipients") == []
    assert all(_opens(p, new_path) for p in office_folder.glob("*.yaml.age"))
    assert office("verify").code == 0


def test_rekey__a_conference_marked_is_on_its_readers_due_and_their_team_sync_ends_it(cli_as, repo, team, tmp_env):
    """The conference's `# rekey:` line as a key change by one who could not read it leaves it (the test above
    makes that change; here the line is the only difference): its readers have it on due and verify, and
    `cpcm team sync` takes it off, encrypting every record to the keys as they are now."""
    from cpcm.store.layout import with_rekey
    from test_conference_minutes_sync import _held

    laptops = Laptops(repo, team, tmp_env)
    _at, conference_id, _case_id = _held(laptops)
    sup = laptops.cli("sup")
    out, new_path = _rotate(sup, tmp_env, "amina")  # sup reads it: done, no line
    assert conference_id in out["reencrypted"]["conferences"]
    recipients = repo / "conferences" / conference_id / "recipients"
    before = recipients.read_text()
    assert _marked(recipients) == []
    recipients.write_bytes(with_rekey(before, ["otieno"]))
    git(repo, "-c", "user.name=hand", "-c", "user.email=hand@example.org", "commit", "-qam", "recipients by hand")
    title = f"conference {conference_id}: its readers to bring in line"
    item = next(i for i in _due(sup) if i["title"] == title)
    assert item["code"] == CONFERENCE_CODE and "otieno" not in json.dumps(item)
    otieno = Cli({**sup.env, "CPCM_IDENTITY": str(team["otieno"][0])})  # who does not read it
    assert title not in [i["title"] for i in _due(otieno, "--worker", "all")]
    assert title not in [i["title"] for i in _due(Cli({**sup.env, "CPCM_IDENTITY": str(new_path)}))]  # amina: not hers to act on
    assert "recipients-rekey" in _verify_codes(sup, conference_id)
    synced = sup("team", "sync", "--json")
    assert synced.code == 0 and synced.json()["conferences_reencrypted"] == 1, synced.stdout + synced.stderr
    assert recipients.read_text() == before
    assert title not in [i["title"] for i in _due(sup)]


def test_rekey__the_line_keeps_a_case_files_other_lines_and_is_read_with_them():
    from cpcm.service.context import recipients_bytes
    from cpcm.store.casestore import CONFERENCES
    from cpcm.store.layout import CASES, covers_from, readers_from, rekey_from, restricted_from, with_rekey

    text = recipients_bytes(["mgr", "mgr2"], CASES, {"otieno": "2026-12-01T00:00:00+03:00"}, True, ["mgr"])
    assert readers_from(text) == ["mgr", "mgr2"] and rekey_from(text) == ["mgr"] and restricted_from(text.decode())
    assert covers_from(text.decode()) == {"otieno": "2026-12-01T00:00:00+03:00"}
    plain = recipients_bytes(["mgr", "mgr2"], CASES, {"otieno": "2026-12-01T00:00:00+03:00"}, True)
    assert with_rekey(text, []) == plain and with_rekey(plain, ["mgr"]) == text
    assert with_rekey(with_rekey(plain, ["mgr", "mgr"]), ["mgr"]).decode().count("# rekey: mgr\n") == 1
    conference = recipients_bytes(["sup", "amina"], CONFERENCES, rekey=["amina"])
    assert readers_from(conference) == ["sup", "amina"] and rekey_from(conference) == ["amina"]
