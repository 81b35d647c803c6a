"""The reference `age` tool and cpcm read each other's files: records, identities made by
`age-keygen`, and passphrase-protected identities made by `cpcm key new`."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import datetime

import pytest

from conftest import CANARY, NOW, Cli, git, git_status, record_files, register, registration
from cpcm.crypto import agefile
from cpcm.domain.ids import RecordIds, new_case_id
from cpcm.store import codec
from cpcm.store.layout import case_dir

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
pytestmark = pytest.mark.skipif(AGE is None, reason="the reference `age` tool is not installed (make test installs it)")


def age(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run([AGE, *args], input=input, capture_output=True, check=True).stdout


def test_record_made_by_cpcm__decrypts_with_age_to_the_registration(cli, repo, team):
    case_id = register(cli, child={"name": CANARY, "sex": "male", "age_estimate": 8}, notes="line one\nline two\n")
    (path,) = record_files(repo, case_id)
    for worker in ("amina", "sup"):  # the worker and the supervisor both read it
        record = codec.loads(age("-d", "-i", str(team[worker][0]), str(path)))
        assert record["kind"] == "registration" and record["case"] == case_id
        assert path.name == f"{record['id']}.registration.yaml.age"
        assert record["by"] == "amina" and datetime.fromisoformat(str(record["at"])) == datetime.fromisoformat(NOW) and record["schema"] == 1
        assert record["child"] == {"name": CANARY, "sex": "male", "age_estimate": 8}
        assert record["risk"] == "high" and record["notes"] == "line one\nline two"
    with pytest.raises(subprocess.CalledProcessError):
        age("-d", "-i", str(team["otieno"][0]), str(path))  # not a reader


def write_case_with_age(repo, recipients: dict[str, str], body: dict, kind: str = "registration",
                        case_id: str | None = None) -> tuple[str, str]:
    """A record written without cpcm: YAML text, `age -r`, the right file name, one commit."""
    case_id = case_id or new_case_id()
    record_id = RecordIds().new(int(time.time() * 1000))
    header = (f"kind: {kind}\nschema: 1\nid: {record_id}\ncase: {case_id}\nat: '2026-11-20T10:00:00+03:00'\n"
              f"recorded_at: '2026-11-20T10:05:00+03:00'\nby: {next(iter(recipients))}\n")
    # the body as a person or another tool would write it: JSON values are YAML flow values
    text = header + "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in body.items())
    folder = case_dir(repo, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    args = []
    for recipient in recipients.values():
        args += ["-r", recipient]
    age(*args, "-o", str(folder / f"{record_id}.{kind}.yaml.age"), input=text.encode())
    if not (folder / "recipients").exists():
        (folder / "recipients").write_text("\n".join(recipients) + "\n")
    git(repo, "add", "-A", "cases")
    git(repo, "-c", "user.name=amina", "-c", "user.email=amina@test.cpcm.invalid", "commit", "-q", "-m",
        f"{kind} {case_id} {record_id}")
    return case_id, record_id


def test_record_made_by_age__is_read_by_show_and_log(cli, repo, team):
    body = registration(child={"name": "Atieno", "sex": "female", "date_of_birth": "2013-02-03"}, risk="medium")
    body["worker"] = "amina"
    body["a_key_from_a_newer_version"] = {"kept": ["as", "it", "is"]}
    case_id, record_id = write_case_with_age(repo, {"amina": team["amina"][1], "sup": team["sup"][1]}, body)
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    data = shown.json()
    assert data["child"]["name"] == "Atieno" and data["risk"] == "medium" and data["worker"] == "amina"
    assert datetime.fromisoformat(data["registered_at"]) == datetime.fromisoformat("2026-11-20T10:00:00+03:00")
    logged = cli("log", case_id, "--json")
    assert logged.code == 0, logged.stderr
    (entry,) = logged.json()
    assert entry["record_id"] == record_id and entry["kind"] == "registration" and entry["by"] == "amina"
    assert entry["commit"] == git(repo, "rev-parse", "HEAD").strip()
    listed = cli("list", "--json")
    assert [c["case_id"] for c in listed.json()] == [case_id]


def test_record_made_by_age__keeps_its_unknown_keys_through_a_reencryption(cli_as, repo, team):
    body = registration()
    body["a_key_from_a_newer_version"] = {"kept": ["as", "it", "is"]}
    case_id, record_id = write_case_with_age(repo, {"amina": team["amina"][1], "sup": team["sup"][1]}, body)
    assert cli_as("sup")("assign", case_id, "--worker", "otieno").code == 0
    path = case_dir(repo, case_id) / f"{record_id}.registration.yaml.age"
    record = codec.loads(age("-d", "-i", str(team["otieno"][0]), str(path)))
    assert record["a_key_from_a_newer_version"] == {"kept": ["as", "it", "is"]}


def test_protected_identity_from_key_new__works_with_cpcm(cli_as, repo, tmp_env):
    """(Each use of a protected identity costs an scrypt: this test keeps them few.)"""
    phrase = tmp_env / "phrase"
    phrase.write_text("a long enough passphrase\n")
    path = tmp_env / "keys" / "wanjiru.txt"
    made = cli_as("sup")("key", "new", "--out", str(path), "--json", env={"CPCM_PASSPHRASE_FILE": str(phrase)})
    assert made.code == 0, made.stderr
    created = made.json()
    assert created["protected"] is True
    data = path.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n") and b"-> scrypt " in data  # an age passphrase file
    assert b"AGE-SECRET-KEY-1" not in data
    assert path.stat().st_mode & 0o077 == 0
    assert cli_as("sup")("team", "add", "wanjiru", "--role", "caseworker", "--recipient", created["recipient"]).code == 0
    wanjiru = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW, "CPCM_PASSPHRASE_FILE": str(phrase)})
    case_id = register(wanjiru)  # the identity opened with the passphrase and matched to the team
    (record,) = record_files(repo, case_id)
    # inside is the age-keygen format: decrypted with the passphrase, `age -d -i` reads the record
    plain = tmp_env / "plain-identity.txt"
    # opened as cpcm opens it (a fixed bound on the work factor): pyrage's bound is this moment's speed of the
    # machine, which a loaded machine makes too low for the file `key new` wrote when it was quieter
    opened = agefile.open_scrypt(data, "a long enough passphrase")
    assert opened is not None
    plain.write_bytes(opened)
    assert f"# public key: {created['recipient']}" in plain.read_text()
    assert codec.loads(age("-d", "-i", str(plain), str(record)))["by"] == "wanjiru"
    without = wanjiru("show", case_id, env={"CPCM_PASSPHRASE_FILE": ""})
    assert without.code == 5 and "passphrase" in without.stderr


def test_key_new__seals_with_the_work_factor_age_would_use(cli, tmp_env, real_scrypt):
    """Outside the tests a protected identity is sealed by pyrage, whose scrypt takes about a second
    of the machine's time (2^18 and more here; age itself writes 2^18): the tests' quick seal
    (tests/agemade.py) is theirs only. Opened as cpcm opens it."""
    phrase = tmp_env / "phrase"
    phrase.write_text("a long enough passphrase\n")
    path = tmp_env / "keys" / "sealed.txt"
    made = cli("key", "new", "--out", str(path), "--json", env={"CPCM_PASSPHRASE_FILE": str(phrase)})
    assert made.code == 0, made.stderr
    data = path.read_bytes()
    (stanza,) = [line for line in data.split(b"\n") if line.startswith(b"-> ")]
    kind, _salt, work = stanza[3:].split(b" ")
    assert kind == b"scrypt" and int(work) >= 14, stanza
    opened = agefile.open_scrypt(data, "a long enough passphrase")
    assert opened is not None and f"# public key: {made.json()['recipient']}" in opened.decode()


def test_key_new__refuses_a_short_passphrase_and_needs_one_without_a_terminal(cli, tmp_env):
    phrase = tmp_env / "phrase"
    phrase.write_text("short\n")
    out = tmp_env / "keys" / "short.txt"
    assert cli("key", "new", "--out", str(out), env={"CPCM_PASSPHRASE_FILE": str(phrase)}).code == 2
    assert cli("key", "new", "--out", str(out)).code == 2  # no terminal, no passphrase file
    assert not out.exists()


def test_key_new__never_overwrites_an_identity(cli, team):
    path = team["amina"][0]
    before = path.read_bytes()
    assert cli("key", "new", "--out", str(path), "--no-passphrase").code == 2
    assert path.read_bytes() == before


@pytest.mark.skipif(AGE_KEYGEN is None, reason="age-keygen is not installed")
def test_identity_from_age_keygen__is_accepted(cli_as, repo, tmp_env):
    path = tmp_env / "keys" / "keygen.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run([AGE_KEYGEN, "-y", str(path)], check=True, capture_output=True, text=True).stdout.strip()
    keygen = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW})
    shown = keygen("key", "show")
    assert shown.code == 0 and shown.stdout.splitlines()[0] == recipient
    assert cli_as("sup")("team", "add", "kamau", "--role", "caseworker", "--recipient", recipient).code == 0
    case_id = register(keygen)
    assert keygen("show", case_id).code == 0
    (record,) = record_files(repo, case_id)
    assert codec.loads(age("-d", "-i", str(path), str(record)))["by"] == "kamau"
    assert git_status(repo) == []
