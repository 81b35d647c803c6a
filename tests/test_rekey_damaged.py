"""A folder marked `# rekey: WORKER` (its records still encrypted to an earlier key of a reader: a key change
made by someone who could not read it) with one damaged record: a case restricted to the managers, whose
manager's key a supervisor replaced. The other manager's `cpcm team sync` encrypts every other record to the
new key and leaves the damaged one as it is (no key opens it, so no one can encrypt it again), naming it by
its file only and pointing to `cpcm verify` and `cpcm repair`; the line goes, as no one can do more for it.
Damaged on disk only (the last commit holds a good copy), the line stays until it is restored and synced
again. A record encrypted to a key the reader lacks is not damaged: the case is left whole, line and all, for
a reader who can open it. And the earlier-key hint of `list` is chosen from what the store found (the
problem's `record_file`), not from the words of its message."""
from __future__ import annotations

import time

from conftest import CANARY, Cli, git, git_status, make_identity, signing_line
from test_key_rotate_unread import _opens
from test_key_rotate_unread_folders import _marked, _rotate
from test_restriction_mismatch import AFTER, closed  # noqa: F401 - the fixture: a closed case, a manager
from cpcm.store.layout import case_dir, case_rel

SECRET = f"child: {CANARY}\n".encode()


def _marked_case(closed, repo, cli_as, tmp_env):
    """The closed case restricted to mgr and mgr2 (a manager and supervisor), mgr's key replaced by sup (who cannot
    read it): the case marked
    `# rekey: mgr`. (case id, mgr2's Cli, mgr's Cli with the new key, the old key's path, the new one's)."""
    case_id, mgr = closed
    later = {"CPCM_NOW": AFTER}
    mgr = Cli({**mgr.env, **later})
    sup = Cli({**cli_as("sup").env, **later})
    key = tmp_env / "keys" / "mgr2.txt"
    key.parent.mkdir(parents=True, exist_ok=True)
    added = sup("team", "add", "mgr2", "--role", "manager", "--role", "supervisor", "--recipient", make_identity(key),
                "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr
    mgr2 = Cli({**sup.env, "CPCM_IDENTITY": str(key)})
    restricted = mgr("retention", case_id, "--restrict", "--reason", "retention period ended")
    assert restricted.code == 0, restricted.stderr
    old_key = tmp_env / "old-mgr.txt"
    old_key.write_bytes((tmp_env / "mgr.txt").read_bytes())
    _out, new_path = _rotate(sup, tmp_env, "mgr")
    assert _marked(case_dir(repo, case_id) / "recipients") == ["# rekey: mgr"]
    return case_id, mgr2, Cli({**mgr.env, "CPCM_IDENTITY": str(new_path)}), old_key, new_path


def _record_file(repo, case_id: str, data: bytes, kind: str = "note", key=None) -> tuple[str, str]:
    """A record file of the case written and committed by hand: (its record id, its path in the repository). `key`:
    the commit signed by mgr with it (a copy syncs on only what every copy takes in), else unsigned."""
    from cpcm.domain.ids import RecordIds
    from cpcm.store.layout import record_name

    folder = case_dir(repo, case_id)
    after = max(p.name.split(".")[0] for p in folder.glob("*.yaml.age"))
    record_id = RecordIds().new(int(time.time() * 1000), after=after)
    rel = f"{case_rel(case_id)}/{record_name(record_id, kind)}"
    (repo / rel).write_bytes(data)
    if key is not None:
        from conftest import signed_commit

        signed_commit(repo, "mgr", f"note {case_id} {record_id}", rel, key=key)
        return record_id, rel
    git(repo, "add", rel)
    git(repo, "-c", "user.name=mgr", "-c", "user.email=mgr@test.cpcm.invalid", "commit", "-qm", f"note {case_id} {record_id}")
    return record_id, rel


def _truncated(tmp_env, *workers_keys) -> bytes:
    """A record as a copy cut short in transfer leaves it: its header whole (encrypted to the keys given), its body
    cut, so that no key opens it."""
    from cpcm.crypto import cipher
    from cpcm.crypto import identity as identity_mod

    publics = [identity_mod.load(path, lambda: None).recipient for path in workers_keys]
    return cipher.encrypt(SECRET * 50, publics)[:-64]


def _told(result) -> str:
    return result.stdout + result.stderr


def test_rekey_damaged__team_sync_encrypts_the_rest_names_the_damaged_file_and_the_line_goes(closed, repo, cli_as, tmp_env):
    case_id, mgr2, new_mgr, old_key, new_path = _marked_case(closed, repo, cli_as, tmp_env)
    folder = case_dir(repo, case_id)
    record_id, rel = _record_file(repo, case_id, _truncated(tmp_env, old_key, tmp_env / "keys" / "mgr2.txt"))
    damaged_bytes = (repo / rel).read_bytes()
    before = (folder / "recipients").read_text()

    synced = mgr2("team", "sync")
    assert synced.code == 0, _told(synced)
    assert "1 case(s) re-encrypted" in synced.stderr
    warning = next(line for line in synced.stderr.splitlines() if rel in line)
    assert warning.startswith(f"warning: {case_id}: {rel} cannot be decrypted (damaged)"), warning
    assert "cpcm verify" in warning and f"cpcm repair {case_id} {record_id} --reason TEXT" in warning, warning
    assert "need re-encrypting by someone who can read them" not in synced.stderr
    assert CANARY not in _told(synced)
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 1 cases"
    assert CANARY not in git(repo, "log", "--format=%B")
    assert git_status(repo) == []
    # every other record is encrypted to the new key; the damaged one is as it was; the line is gone, the rest kept
    others = [p for p in sorted(folder.glob("*.yaml.age")) if p.name != rel.rsplit("/", 1)[1]]
    assert others and all(_opens(p, new_path) and not _opens(p, old_key) for p in others)
    assert (repo / rel).read_bytes() == damaged_bytes
    assert _marked(folder / "recipients") == []
    assert (folder / "recipients").read_text() == "".join(line + "\n" for line in before.splitlines() if line != "# rekey: mgr")
    # not on the readers' due list any more (team sync can do no more for it); verify names the damaged record
    assert f"case {case_id}: its readers to bring in line" not in [i["title"] for i in mgr2("due", "--json", "--worker", "all").json()]
    codes = [(p["code"], p["message"]) for p in mgr2("verify", "--json").json() if case_id in str(p.get("case_id", p.get("case", "")))]
    assert ("record-unreadable" in [code for code, _ in codes]) and "recipients-rekey" not in [code for code, _ in codes], codes
    assert all(CANARY not in message for _, message in codes)
    # the new key cannot open the damaged record (age names a file's readers before its body) ...
    refused = new_mgr("show", case_id)
    assert refused.code == 5 and rel in refused.stderr and CANARY not in _told(refused), _told(refused)
    # ... until a repair supersedes it: the repair is written to the case's readers as they are now, and the case
    # reads again with the new key, the damaged file left out (the repair names its very bytes)
    repaired = mgr2("repair", case_id, record_id, "--reason", "cut short in a copy", "--json")
    assert repaired.code == 0, _told(repaired)
    repair_file = folder / f"{repaired.json()['record_id']}.repair.yaml.age"
    assert _opens(repair_file, new_path) and not _opens(repair_file, old_key)
    assert (repo / rel).read_bytes() == damaged_bytes
    shown = new_mgr("show", case_id, "--json")
    assert shown.code == 0, _told(shown)
    assert [e["kind"] for e in shown.json()["history"]][-1] == "repair"
    for who in (new_mgr, mgr2):
        problems = [p["code"] for p in who("verify", "--json").json() if case_id in str(p.get("case_id", p.get("case", "")))]
        assert problems == [], problems
    # and the new key re-encrypts the case for a manager added since, the repaired file left as it is
    sup = Cli({**cli_as("sup").env, "CPCM_NOW": AFTER})
    key3 = tmp_env / "keys" / "mgr3.txt"
    assert sup("team", "add", "mgr3", "--role", "manager", "--recipient", make_identity(key3), "--signing-key",
               signing_line(key3)).code == 0
    again = new_mgr("team", "sync")
    assert again.code == 0 and "1 case(s) re-encrypted" in again.stderr and "warning" not in again.stderr, _told(again)
    assert (repo / rel).read_bytes() == damaged_bytes
    assert all(_opens(p, key3) for p in others + [repair_file])
    assert Cli({**new_mgr.env, "CPCM_IDENTITY": str(key3)})("show", case_id).code == 0


def test_rekey_damaged__damaged_on_disk_only_keeps_the_line_and_says_to_restore_it(closed, repo, cli_as, tmp_env):
    case_id, mgr2, _new_mgr, old_key, new_path = _marked_case(closed, repo, cli_as, tmp_env)
    folder = case_dir(repo, case_id)
    bad = sorted(folder.glob("*.closure.yaml.age"))[0]
    rel = f"{case_rel(case_id)}/{bad.name}"
    good = bad.read_bytes()
    bad.write_bytes(good[:-64])  # cut short on this disk; the last commit holds it whole

    synced = mgr2("team", "sync", "--json")
    assert synced.code == 0, _told(synced)
    assert synced.json()["damaged"] == [{"folder": case_id, "file": rel, "restorable": True}]
    assert synced.json()["reencrypted"] == 1 and synced.json()["not_reencrypted"] == []
    assert CANARY not in _told(synced)
    assert _marked(folder / "recipients") == ["# rekey: mgr"]  # restored, it is still on the earlier key
    assert git_status(repo) == [f" M {rel}"]
    plain = Cli(mgr2.env)
    git(repo, "checkout", "HEAD", "--", rel)
    assert _opens(bad, old_key) and not _opens(bad, new_path)
    again = plain("team", "sync")
    assert again.code == 0 and "damaged" not in again.stderr, _told(again)
    assert _marked(folder / "recipients") == []
    assert all(_opens(p, new_path) for p in folder.glob("*.yaml.age"))


def test_rekey_damaged__warning_on_disk_only_names_the_restore(closed, repo, cli_as, tmp_env):
    case_id, mgr2, _new_mgr, _old_key, _new_path = _marked_case(closed, repo, cli_as, tmp_env)
    bad = sorted(case_dir(repo, case_id).glob("*.closure.yaml.age"))[0]
    rel = f"{case_rel(case_id)}/{bad.name}"
    bad.write_bytes(bad.read_bytes()[:-64])
    synced = mgr2("team", "sync")
    assert synced.code == 0, _told(synced)
    warning = next(line for line in synced.stderr.splitlines() if rel in line)
    assert f"git checkout HEAD -- {rel}, then cpcm team sync again" in warning and "cpcm repair" not in warning, warning


def test_rekey_damaged__a_record_on_a_key_the_reader_lacks_is_not_damaged_the_case_waits_whole(closed, repo, cli_as, tmp_env):
    case_id, mgr2, _new_mgr, old_key, new_path = _marked_case(closed, repo, cli_as, tmp_env)
    folder = case_dir(repo, case_id)
    from cpcm.crypto import cipher
    from cpcm.crypto import identity as identity_mod

    only_old = cipher.encrypt(SECRET, [identity_mod.load(old_key, lambda: None).recipient])  # whole, but not to mgr2
    _record_file(repo, case_id, only_old)
    files = {p: p.read_bytes() for p in folder.glob("*.yaml.age")}
    head = git(repo, "rev-parse", "HEAD").strip()

    synced = mgr2("team", "sync")
    assert synced.code == 0, _told(synced)
    assert "damaged" not in synced.stderr and CANARY not in _told(synced)
    assert f"need re-encrypting by someone who can read them: {case_id}" in synced.stderr, synced.stderr
    assert {p: p.read_bytes() for p in folder.glob("*.yaml.age")} == files  # nothing of it written
    assert _marked(folder / "recipients") == ["# rekey: mgr"]
    assert git(repo, "rev-parse", "HEAD").strip() == head and git_status(repo) == []


def test_earlier_key_hint__chosen_from_the_problems_record_file_not_its_words(capsys):
    """The hint that a case's records are still on an earlier key of yours follows the store's `record_file`:
    a message worded otherwise still gets it, and a message of those words without the field does not."""
    import types

    import pytest
    import typer

    from cpcm.cli.common import report_problems
    from cpcm.errors import CannotDecrypt
    from cpcm.service import context

    rel = f"{case_rel('CP-AAAA-BBBB')}/01M93550JYT22PFWAWVCWHJY9X.closure.yaml.age"
    store = types.SimpleNamespace(recipients_rekey=lambda folder, top: (["mgr", "mgr2"], ["mgr"]),
                                  restorable=lambda rel: False)
    ctx = types.SimpleNamespace(worker=types.SimpleNamespace(id="mgr"), store=store,
                                problems=[CannotDecrypt("your key does not open it (worded anew)", "hint", record_file=rel)])
    with pytest.raises(typer.Exit):
        report_problems(ctx)
    assert capsys.readouterr().err == f"problem: your key does not open it (worded anew); left out. {context.EARLIER_KEY_HINT}\n"
    ctx.problems = [CannotDecrypt(f"{rel} is not encrypted to your key", "hint")]
    with pytest.raises(typer.Exit):
        report_problems(ctx)
    assert capsys.readouterr().err == f"problem: {rel} is not encrypted to your key; left out (cpcm verify)\n"


def test_earlier_key_hint__the_store_sets_record_file_where_your_key_does_not_open_a_record(closed, repo, cli_as, tmp_env):
    from cpcm import service
    from cpcm.errors import CannotDecrypt
    from conftest import library_session

    case_id, _mgr2, new_mgr, _old_key, _new_path = _marked_case(closed, repo, cli_as, tmp_env)
    ctx = library_session(new_mgr)
    try:
        service.context.read_case(ctx, case_id)
    except CannotDecrypt as exc:
        assert exc.record_file and exc.record_file.startswith(f"{case_rel(case_id)}/") and exc.message.startswith(exc.record_file)
    else:
        raise AssertionError("read")
    listed = new_mgr("list")  # what it says is as it was
    line = next(line for line in listed.stderr.splitlines() if line.startswith("problem:"))
    assert line.endswith(f"is not encrypted to your key; left out. {service.context.EARLIER_KEY_HINT}"), line


def test_rekey_damaged__a_readers_sync_encrypts_the_rest_of_a_marked_session_and_names_the_damaged_file(repo, team, tmp_env):
    """sup2 replaces amina's key on a laptop (the session sup held with her: marked), and a record of that session
    reaches it cut short; sup's sync, which merges both, encrypts the other records to her new key, leaves the
    damaged one as it is, names its file, and takes the line off."""
    from conftest import signed_commit
    from test_sync import Laptops

    laptops = Laptops(repo, team, tmp_env)
    sup = laptops.cli("sup")
    key = tmp_env / "keys" / "sup2.txt"
    added = sup("team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(key), "--signing-key",
                signing_line(key))
    assert added.code == 0, added.stderr
    laptops.keys["sup2"] = (key, None)
    held = sup("supervision", "record", "--no-input", "--json", "--worker", "amina", "--kind", "support",
               "--discussed", f"spoke of {CANARY}")
    assert held.code == 0, held.stderr
    session_id = held.json()["session_id"]
    laptops.sync("sup")
    sup2 = laptops.laptop("sup2")
    new_path = tmp_env / "keys" / "amina-new.txt"
    rotated = sup2("key", "rotate", "--worker", "amina", "--recipient", make_identity(new_path), "--signing-key",
                   signing_line(new_path), "--reason", "lost", "--json")
    assert rotated.code == 0, rotated.stderr
    theirs = laptops.clones["sup2"] / "supervision" / session_id
    assert _marked(theirs / "recipients") == ["# rekey: amina"]
    from cpcm.domain.ids import RecordIds
    from cpcm.store.layout import record_name

    after = max(p.name.split(".")[0] for p in theirs.glob("*.yaml.age"))
    record_id = RecordIds().new(int(time.time() * 1000), after=after)
    rel = f"supervision/{session_id}/{record_name(record_id, 'supervision')}"
    (laptops.clones["sup2"] / rel).write_bytes(_truncated(tmp_env, team["sup"][0], team["amina"][0]))
    signed_commit(laptops.clones["sup2"], "sup", f"supervision record {session_id} {record_id}", rel,
                  key=team["sup"][0])
    assert laptops.sync("sup2")

    synced = sup("sync")
    assert synced.code == 0, _told(synced)
    warning = next(line for line in synced.stderr.splitlines() if rel in line)
    assert warning == f"warning: {session_id}: {rel} cannot be decrypted (damaged): it was left as it is, the other records " \
                      "were re-encrypted; cpcm verify names it", warning
    assert CANARY not in _told(synced) and CANARY not in git(repo, "log", "--format=%B")
    office = repo / "supervision" / session_id
    assert _marked(office / "recipients") == []
    others = [p for p in office.glob("*.yaml.age") if p.name != rel.rsplit("/", 1)[1]]
    assert others and all(_opens(p, new_path) for p in others)
    assert git_status(repo) == []


def _repaired_case(closed, repo, cli_as, tmp_env):
    """The marked case with a damaged record (cut short, to the earlier key and mgr2's), mgr2's team sync, then its
    repair: (case id, mgr2's Cli, mgr's Cli with the new key, the old key's path, the new one's, the damaged file's
    path in the repository, its bytes, sup's Cli)."""
    case_id, mgr2, new_mgr, old_key, new_path = _marked_case(closed, repo, cli_as, tmp_env)
    record_id, rel = _record_file(repo, case_id, _truncated(tmp_env, old_key, tmp_env / "keys" / "mgr2.txt"), key=new_path)
    assert mgr2("team", "sync").code == 0
    repaired = mgr2("repair", case_id, record_id, "--reason", "cut short in a copy")
    assert repaired.code == 0, _told(repaired)
    return case_id, mgr2, new_mgr, old_key, new_path, rel, (repo / rel).read_bytes(), Cli({**cli_as("sup").env, "CPCM_NOW": AFTER})


def _add_mgr3(sup, tmp_env):
    key3 = tmp_env / "keys" / "mgr3.txt"
    added = sup("team", "add", "mgr3", "--role", "manager", "--recipient", make_identity(key3), "--signing-key",
                signing_line(key3))
    assert added.code == 0, added.stderr
    return key3


def _mgr_laptop(repo, sup, new_mgr, tmp_env):
    """A remote made from the office copy, and mgr's laptop (a clone of it): mgr's Cli there, with the new key."""
    import subprocess

    bare = tmp_env / "remote.git"
    assert sup("remote", "add", "origin", str(bare), "--create").code == 0
    assert sup("sync").code == 0
    laptop = tmp_env / "laptop-mgr"
    subprocess.run(["git", "clone", "-q", str(bare), str(laptop)], check=True, capture_output=True)
    return Cli({**new_mgr.env, "CPCM_REPO": str(laptop)}), laptop


def test_rekey_damaged__a_readers_sync_encrypts_a_case_with_a_repaired_record_for_a_reader_added_on_the_other_copy(
        closed, repo, cli_as, tmp_env):
    """A manager added on the office copy; mgr (new key), who reads the case, merges it on a laptop: every record that
    opens is encrypted to the new manager too, the file a repair names left as it is, and only then is the new
    manager listed; the new manager reads the case."""
    case_id, _mgr2, new_mgr, _old_key, _new_path, rel, damaged_bytes, sup = _repaired_case(closed, repo, cli_as, tmp_env)
    mgr, laptop = _mgr_laptop(repo, sup, new_mgr, tmp_env)
    key3 = _add_mgr3(sup, tmp_env)
    assert sup("sync").code == 0
    assert mgr("note", case_id, "--text", "seen").code == 0

    synced = mgr("sync", "--json")
    assert synced.code == 0, _told(synced)
    assert synced.json()["reencrypted"] == [case_id] and synced.json()["not_reencrypted"] == [], synced.json()
    assert CANARY not in _told(synced)
    folder = case_dir(laptop, case_id)
    assert "mgr3" in (folder / "recipients").read_text().split()
    assert (laptop / rel).read_bytes() == damaged_bytes
    others = [p for p in folder.glob("*.yaml.age") if p.name != rel.rsplit("/", 1)[1]]
    assert others and all(_opens(p, key3) for p in others)
    mgr3 = Cli({**mgr.env, "CPCM_IDENTITY": str(key3)})
    shown = mgr3("show", case_id)
    assert shown.code == 0, _told(shown)
    assert git_status(laptop) == []


def test_rekey_damaged__a_merge_that_cannot_encrypt_a_case_again_does_not_list_the_reader_added(closed, repo, cli_as, tmp_env):
    """A record of the case mgr's new key does not open (and no repair names): the merge encrypts nothing of it
    again, and its `recipients` file does not list the manager added on the other copy, so that the case is not
    taken as in line: mgr's team sync names it as needing someone who can read it."""
    from cpcm.crypto import cipher
    from cpcm.crypto import identity as identity_mod

    case_id, mgr2, new_mgr, old_key, new_path = _marked_case(closed, repo, cli_as, tmp_env)
    assert mgr2("team", "sync").code == 0
    sup = Cli({**cli_as("sup").env, "CPCM_NOW": AFTER})
    mgr, laptop = _mgr_laptop(repo, sup, new_mgr, tmp_env)
    _add_mgr3(sup, tmp_env)
    assert sup("sync").code == 0
    # a record on mgr's earlier key only reaches the laptop's copy of the case (no repair names it)
    _record_file(laptop, case_id, cipher.encrypt(SECRET, [identity_mod.load(old_key, lambda: None).recipient]), key=new_path)
    mgr2_laptop = Cli({**mgr2.env, "CPCM_REPO": str(laptop)})

    synced = mgr("sync", "--json")
    assert synced.code == 0, _told(synced)
    assert synced.json()["reencrypted"] == [] and synced.json()["not_reencrypted"] == [case_id], synced.json()
    assert "mgr3" not in (case_dir(laptop, case_id) / "recipients").read_text().split()
    again = mgr2_laptop("team", "sync", "--json")
    assert again.code == 0, _told(again)
    assert case_id in again.json()["not_reencrypted"], again.json()


def test_rekey_damaged__key_rotate_by_a_reader_encrypts_a_case_with_a_repaired_record(closed, repo, cli_as, tmp_env):
    """After the repair, mgr2 (who reads the case) replaces mgr's key again: the case is encrypted to the newest key
    at once, the file the repair names left as it is, and no `# rekey:` line is written."""
    case_id, mgr2, new_mgr, _old_key, _new_path, rel, damaged_bytes, _sup = _repaired_case(closed, repo, cli_as, tmp_env)
    folder = case_dir(repo, case_id)
    (tmp_env / "again" / "keys").mkdir(parents=True)
    done, newest = _rotate(mgr2, tmp_env / "again", "mgr")
    assert case_id in done["reencrypted"]["cases"] and case_id not in done["not_reencrypted"], done
    assert CANARY not in str(done)
    assert _marked(folder / "recipients") == []
    assert (repo / rel).read_bytes() == damaged_bytes
    others = [p for p in folder.glob("*.yaml.age") if p.name != rel.rsplit("/", 1)[1]]
    assert others and all(_opens(p, newest) for p in others)
    shown = Cli({**new_mgr.env, "CPCM_IDENTITY": str(newest)})("show", case_id)
    assert shown.code == 0, _told(shown)
    assert git_status(repo) == []


def test_rekey_damaged__key_rotate_by_a_reader_leaves_a_damaged_record_and_encrypts_the_rest(closed, repo, cli_as, tmp_env):
    """A damaged record (no key opens it), not yet repaired: mgr2's key rotation of mgr encrypts every other record of
    the case to the new key and writes no `# rekey:` line (no one can do more for it); verify names the record."""
    case_id, mgr2, _new_mgr, old_key, _new_path = _marked_case(closed, repo, cli_as, tmp_env)
    assert mgr2("team", "sync").code == 0
    _record_id, rel = _record_file(repo, case_id, _truncated(tmp_env, old_key, tmp_env / "keys" / "mgr2.txt"))
    damaged_bytes = (repo / rel).read_bytes()
    folder = case_dir(repo, case_id)
    (tmp_env / "again" / "keys").mkdir(parents=True)
    done, newest = _rotate(mgr2, tmp_env / "again", "mgr")
    assert case_id in done["reencrypted"]["cases"], done
    assert _marked(folder / "recipients") == []
    assert (repo / rel).read_bytes() == damaged_bytes
    others = [p for p in folder.glob("*.yaml.age") if p.name != rel.rsplit("/", 1)[1]]
    assert others and all(_opens(p, newest) for p in others)
    assert git_status(repo) == []
