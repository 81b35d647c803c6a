"""A case's strictly confidential section (IAG record keeping [L648]): `cpcm confidential add`,
`list`, `show`. An entry is read by the worker who wrote it and the agency's supervisors and
managers less those excluded, never by another caseworker (the case's own worker included);
`cpcm show` tells its readers how many the case has and tells anyone else nothing; the case file
never holds them; team changes, key rotation and sync carry it to its readers only; bad input
changes nothing; what it says never on disk in plaintext, in a file name or a commit message."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, NOW, Cli, git, head, make_identity, register
from test_privacy import files_with_marker, git_log_patch, git_objects, leaks


def _add(cli, case_id: str, *args: str, text: str = f"the child named {CANARY}"):
    added = cli("confidential", "add", case_id, "--text", text, "--json", *args)
    assert added.code == 0, added.stderr
    return added.json()["entry_id"]


def _record_file(root, entry_id: str):
    files = sorted((root / "confidential" / entry_id).glob("*.confidential.yaml.age"))
    assert len(files) == 1, files
    return files[0]


def _decrypts(identity_file, path) -> bool:
    """Whether the identity in `identity_file` opens the record file at `path` (no cpcm between)."""
    from cpcm.crypto import cipher
    from cpcm.crypto import identity

    try:
        cipher.decrypt(path.read_bytes(), identity.load(identity_file, lambda: None).keys)
    except cipher.NotARecipient:
        return False
    return True


def _readers(root, entry_id: str) -> list[str]:
    return (root / "confidential" / entry_id / "recipients").read_text().splitlines()[1:]


def test_confidential__the_caseworker_of_the_case_cannot_decrypt_it_and_show_tells_them_nothing(cli_as, repo, team):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id = register(amina)  # amina's case: she reads every record of it
    before = head(repo)
    entry_id = _add(sup, case_id)
    assert entry_id.startswith("SC-")
    assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"  # one commit, IDs only
    message = git(repo, "log", "-1", "--format=%an|%s").strip()
    record_id = _record_file(repo, entry_id).name.split(".")[0]
    assert message == f"sup|confidential add {entry_id} {record_id}" and case_id not in message
    assert _readers(repo, entry_id) == ["sup"]

    # store level: the case's caseworker's identity cannot open it; the supervisor's does
    path = _record_file(repo, entry_id)
    assert not _decrypts(team["amina"][0], path) and not _decrypts(team["otieno"][0], path)
    assert _decrypts(team["sup"][0], path)

    # the supervisor is told the count and where to look; the caseworker nothing at all
    shown = sup("show", case_id)
    assert shown.code == 0, shown.stderr
    assert f"1 entr(ies): cpcm confidential list {case_id}" in shown.stdout
    assert sup("show", case_id, "--json").json()["confidential"] == 1
    for cli in (amina, otieno):
        for args in (("show", case_id), ("show", case_id, "--json"), ("log", case_id), ("check", case_id, "--json"),
                     ("due", "--json"), ("list", "--json"), ("confidential", "list", case_id, "--json")):
            seen = cli(*args)
            assert entry_id not in seen.stdout + seen.stderr and CANARY not in seen.stdout + seen.stderr, (args, seen.stdout)
            if "--json" not in args:
                assert "confidential" not in seen.stdout.lower(), (args, seen.stdout)
    assert amina("show", case_id, "--json").json()["confidential"] == 0  # as for a case with none
    assert amina("confidential", "list", case_id, "--json").json() == []
    refused = amina("confidential", "show", entry_id)
    assert refused.code == 5 and "not among the readers" in refused.stderr and CANARY not in refused.stderr

    # the supervisor reads it back; the case file (it may be printed for others) never holds it
    data = sup("confidential", "show", entry_id, "--json").json()
    assert data["case_id"] == case_id and CANARY in data["text"] and data["written_by"] == "sup"
    assert [e["entry_id"] for e in sup("confidential", "list", case_id, "--json").json()] == [entry_id]
    rendered = sup("render", "case-file", case_id)
    assert rendered.code == 0, rendered.stderr
    assert CANARY not in rendered.stdout and entry_id not in rendered.stdout

    # the case's worker writes one of her own: she and the supervisor read it, another caseworker does not
    own = _add(amina, case_id, text=f"what the neighbour said {CANARY}")
    assert _readers(repo, own) == ["amina", "sup"]
    assert [e["entry_id"] for e in amina("confidential", "list", case_id, "--json").json()] == [own]
    assert sup("show", case_id, "--json").json()["confidential"] == 2
    assert not _decrypts(team["otieno"][0], _record_file(repo, own))

    assert sup("verify").code == 0
    assert files_with_marker(repo) == []
    assert not leaks(git_objects(repo)) and not leaks(git_log_patch(repo))
    assert not [p for p in repo.rglob("*") if "zqxcanary" in p.name.lower() or "wbvmarker" in p.name.lower()]


def test_confidential__bad_input_is_refused_clearly_and_changes_nothing(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    before = head(repo)
    unknown = amina("confidential", "add", "CP-0000-0000", "--text", CANARY)
    assert unknown.code == 3 and "no case CP-0000-0000" in unknown.stderr, unknown.stderr
    assert amina("confidential", "add", "CP-0000-0001", "--text", CANARY).code == 2  # not a case ID (its check character)
    assert amina("confidential", "list", "CP-0000-0000").code == 3
    bad = amina("confidential", "add", case_id, "--text", "", "--exclude", "amina", "--exclude", CANARY.split()[0].lower())
    assert bad.code == 4, bad.stderr
    assert "text: is required" in bad.stderr and "exclude: names you" in bad.stderr and "exclude: names no worker" in bad.stderr
    assert CANARY.split()[0].lower() not in bad.stderr.lower()
    # excluding the only supervisor: nobody with oversight would read it
    nobody = amina("confidential", "add", case_id, "--text", CANARY, "--exclude", "sup")
    assert nobody.code == 4 and "nothing was written" in nobody.stderr and CANARY not in nobody.stderr, nobody.stderr
    as_json = amina("confidential", "add", case_id, "--text", CANARY, "--exclude", "sup", "--json")
    assert json.loads(as_json.stdout or as_json.stderr)["rule"] == "confidential-no-oversight"
    # a worker who does not read the case writes nothing in its section
    assert cli_as("otieno")("confidential", "add", case_id, "--text", CANARY).code == 5
    assert head(repo) == before and not (repo / "confidential").exists()
    assert files_with_marker(repo) == []
    assert sup("confidential", "show", "SC-0000-0001").code == 2


def test_confidential__a_manager_added_reads_it_one_excluded_never_a_worker_removed_loses_it(cli_as, repo, team, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    entry_id = _add(amina, case_id)
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr.txt"))
    assert added.code == 0, added.stderr
    assert _readers(repo, entry_id) == ["amina", "sup", "mgr"]
    assert _decrypts(tmp_env / "mgr.txt", _record_file(repo, entry_id))
    mgr = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "mgr.txt"), "CPCM_NOW": NOW})
    assert CANARY in mgr("confidential", "show", entry_id, "--json").json()["text"]

    # an entry excluding the manager: a second manager added reads it, the excluded one never
    apart = _add(sup, case_id, "--exclude", "mgr")
    assert _readers(repo, apart) == ["sup"]
    assert sup("team", "add", "mgr2", "--role", "manager", "--recipient", make_identity(tmp_env / "mgr2.txt")).code == 0
    assert _readers(repo, apart) == ["sup", "mgr2"] and _decrypts(tmp_env / "mgr2.txt", _record_file(repo, apart))
    assert not _decrypts(tmp_env / "mgr.txt", _record_file(repo, apart))
    assert mgr("show", case_id, "--json").json()["confidential"] == 1  # only the entry the manager reads is counted
    assert sup("show", case_id, "--json").json()["confidential"] == 2

    # a reader leaves: the entry is re-encrypted away from them in the current tree
    removed = sup("team", "remove", "mgr")
    assert removed.code == 0, removed.stderr
    assert _readers(repo, entry_id) == ["amina", "sup", "mgr2"]
    assert not _decrypts(tmp_env / "mgr.txt", _record_file(repo, entry_id))
    assert sup("verify").code == 0


def test_confidential__a_key_rotated_reencrypts_the_entries_its_worker_reads(cli_as, repo, team, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    entry_id = _add(amina, case_id)
    old_copy = tmp_env / "old-amina.txt"
    old_copy.write_bytes(team["amina"][0].read_bytes())
    rotated = amina("key", "rotate", "--no-passphrase", "--json")
    assert rotated.code == 0, rotated.stderr
    assert rotated.json()["reencrypted"]["confidential"] == [entry_id]
    assert _decrypts(team["amina"][0], _record_file(repo, entry_id))  # the identity file now holds the new key
    assert not _decrypts(old_copy, _record_file(repo, entry_id))
    assert CANARY in amina("confidential", "show", entry_id, "--json").json()["text"]
    assert sup("verify").code == 0


def test_confidential__readers_are_the_writer_and_oversight_less_those_excluded():
    from cpcm.domain.team import Team, Worker
    from cpcm.workflow import confidential as rules

    team = Team((Worker("sup", "S", ("supervisor",), "age1a"), Worker("mgr", "M", ("manager", "caseworker"), "age1b"),
                 Worker("amina", "A", ("caseworker",), "age1c"), Worker("otieno", "O", ("caseworker",), "age1d")))
    assert rules.readers(team, "amina", []) == ["amina", "sup", "mgr"]  # never otieno, another caseworker
    assert rules.readers(team, "amina", ["mgr"]) == ["amina", "sup"]
    assert rules.readers(team, "sup", ["mgr"]) == ["sup"] and rules.overseen(team, ["sup"])  # a supervisor alone
    assert not rules.overseen(team, rules.readers(team, "amina", ["sup", "mgr"]))  # only the caseworker: refused


# -- two laptops --------------------------------------------------------------------------------------
from test_sync import laptops  # noqa: E402,F401 - the fixture: a bare remote and a clone per worker


def test_confidential__sync_carries_it_and_says_it_only_to_its_readers(laptops):
    amina, sup, otieno = laptops.laptop("amina"), laptops.cli("sup"), laptops.laptop("otieno")
    case_id = register(amina)
    entry_id = _add(amina, case_id)
    laptops.sync("amina")
    told = laptops.sync("otieno")  # not a reader: neither named nor counted, nor who wrote it
    assert entry_id not in json.dumps(told) and told["confidential"] == [] and told["by"] == {"amina": 1}, told  # the registration
    assert not (laptops.clones["otieno"] / "confidential" / entry_id / "recipients").read_text().count("otieno")
    brought = laptops.sync("sup")
    assert brought["confidential"] == [entry_id], brought
    assert CANARY in sup("confidential", "show", entry_id, "--json").json()["text"]
    # written on two copies apart: both kept (a plain union)
    other = _add(sup, case_id, text=f"second {CANARY}")
    mine = _add(amina, case_id, text=f"third {CANARY}")
    laptops.sync("sup")
    merged = laptops.sync("amina")  # sup's entry arrives on amina's copy: she does not read it, so is not told of it
    assert merged["merged"] and merged["confidential"] == [] and other not in json.dumps(merged), merged
    assert laptops.sync("sup")["confidential"] == [mine]  # hers arrives on sup's: he reads it
    listed = sorted(e["entry_id"] for e in sup("confidential", "list", case_id, "--json").json())
    assert listed == sorted([entry_id, other, mine])
    assert sorted(e["entry_id"] for e in amina("confidential", "list", case_id, "--json").json()) == sorted([entry_id, mine])
    told = laptops.sync("otieno")
    assert other not in json.dumps(told) and mine not in json.dumps(told) and told["confidential"] == [], told
    for root in (laptops.repo, laptops.clones["amina"]):
        assert files_with_marker(root) == [] and not leaks(git_log_patch(root))
    assert sup("verify").code == 0


def test_confidential__a_manager_added_on_one_copy_reads_an_entry_written_on_the_other(laptops, tmp_env):
    from conftest import signing_line

    amina, sup = laptops.laptop("amina"), laptops.cli("sup")
    key = tmp_env / "keys" / "mgr.txt"
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(key), "--signing-key", signing_line(key))
    assert added.code == 0, added.stderr  # on sup's copy, before amina's laptop hears of it
    case_id = register(amina)
    entry_id = _add(amina, case_id)
    laptops.sync("amina")
    merged = laptops.sync("sup")  # the merge works the entry's readers out again with the merged team
    assert merged["merged"] and entry_id in merged["reencrypted"] and merged["confidential"] == [entry_id], merged
    assert _readers(laptops.repo, entry_id) == ["amina", "sup", "mgr"]
    assert _decrypts(key, _record_file(laptops.repo, entry_id))
    assert sup("verify").code == 0


def test_confidential__evacuate_warns_of_an_entry_only_its_writer_reads(cli_as, team):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)  # amina and sup read the case: sup is not its only reader
    entry_id = _add(sup, case_id)  # sup is the team's only supervisor: the entry's only reader
    (team["sup"][0].parent / "sup.txt.pub").write_text(team["sup"][1] + "\n")  # told without a passphrase
    done = sup("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["only_reader"] == [entry_id] and entry_id in done.stderr and "only reader" in done.stderr
