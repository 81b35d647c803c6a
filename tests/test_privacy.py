"""The privacy canary: a child registered under a unique marker name, then every command run.

The marker may reach stdout of the commands that were asked to show it (`show`, `list --names`)
and nowhere else: not a file in the casefile repository (working tree, .git, .cpcm/cache), not a
git object decompressed, not `git log -p`, not the temp folder, not stderr of any command.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CANARY, NOW, Cli, git, make_identity, registration

# each half on its own and in any case: a name split into tokens or lower-cased still leaks
MARKERS = tuple(part.lower().encode() for part in CANARY.split())

TEMPLATES = re.compile(
    r"^(init [A-Za-z0-9._-]+"
    r"|register CP-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}"
    r"|assign CP-[0-9A-Z]{4}-[0-9A-Z]{4} [0-9A-Z]{26}"
    r"|team (add|remove) [a-z0-9._-]+"
    r"|team sync [0-9]+ cases)$"
)


def leaks(data: bytes) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in MARKERS)


def files_with_marker(folder: Path) -> list[str]:
    return [str(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and leaks(p.read_bytes())]


def git_objects(root: Path) -> bytes:
    """Every object in the repository (reachable or not), decompressed."""
    return git(root, "cat-file", "--batch-all-objects", "--batch", binary=True)


def git_log_patch(root: Path) -> bytes:
    return git(root, "log", "--all", "-p", "--format=fuller", binary=True)


def canary_registration() -> dict:
    return registration(
        child={"name": CANARY, "other_names": CANARY.split()[0], "sex": "female", "date_of_birth": "2015-04-01"},
        location=f"{CANARY} village, Kisumu",
        caregiver={"name": f"{CANARY} senior", "relationship": "grandmother"},
        contact=f"ask for {CANARY} at the market",
        notes=f"{CANARY}\nseen at the market\n",
    )


class Session:
    """Runs commands and keeps every stderr; stdout only where the name was not asked for."""

    def __init__(self):
        self.stderr: list[tuple[tuple, str]] = []
        self.stdout_without_names: list[tuple[tuple, str]] = []

    def run(self, cli, *args, expect: int = 0, names_allowed: bool = False, **kw):
        result = cli(*args, **kw)
        assert result.code == expect, (args, result.code, result.stderr)
        self.stderr.append((args, result.stderr))
        if not names_allowed:
            self.stdout_without_names.append((args, result.stdout))
        return result


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One casefile repository, made as the `repo` fixture makes it, for the whole module (the
    session is long), with temp files and HOME inside its folder: (folder, repo, Session)."""
    base = tmp_path_factory.mktemp("privacy")
    (base / "tmp").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(base / "tmp"))
        mp.setenv("HOME", str(base / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(base / "home" / ".config"))
        keys = {w: base / "keys" / f"{w}.txt" for w in ("sup", "amina", "otieno")}
        recipients = {w: make_identity(path) for w, path in keys.items()}
        root = base / "casefiles"

        def cli_as(worker: str) -> Cli:
            return Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys[worker]), "CPCM_NOW": NOW})

        sup = cli_as("sup")
        assert sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor").code == 0
        for worker in ("amina", "otieno"):
            assert sup("team", "add", worker, "--role", "caseworker", "--recipient", recipients[worker]).code == 0
        session = run_every_command(base, cli_as)
        yield base, root, session


def run_every_command(base: Path, cli_as) -> "Session":
    """Every command, with the canary child registered first."""
    s = Session()
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    doc = json.dumps(canary_registration())
    case_id = s.run(amina, "register", "--from-file", "-", "--json", input=doc).json()["case_id"]
    # the same child again, by flags and in human output: a probable-duplicate warning on stderr
    s.run(amina, "register", "--name", CANARY, "--sex", "female", "--dob", "2015-04-01", "--location", f"{CANARY} village",
          "--lives-with", "relatives", "--caregiver", f"{CANARY} senior", "--identified-by", "family", "--concern", "neglect",
          "--risk", "medium", "--child-consent", "given", "--caregiver-consent", "given")
    shown = s.run(amina, "show", case_id, names_allowed=True)
    assert CANARY in shown.stdout  # the canary really is in the case: the scans below can find it
    s.run(amina, "show", case_id, "--json", names_allowed=True)
    s.run(amina, "list")
    assert CANARY in s.run(amina, "list", "--names", names_allowed=True).stdout
    s.run(amina, "list", "--json")
    s.run(amina, "list", "--names", "--json", names_allowed=True)
    s.run(amina, "log", case_id)
    s.run(amina, "log", case_id, "--json")
    s.run(amina, "assign", case_id, "--worker", "otieno")
    s.run(otieno, "show", case_id, names_allowed=True)
    s.run(otieno, "team", "remove", "amina", expect=4)  # a caseworker cannot change the team
    s.run(sup, "team", "remove", "otieno", expect=4)    # otieno still has the case
    s.run(sup, "assign", case_id, "--worker", "amina", "--json")
    s.run(sup, "team", "remove", "otieno")
    sup2 = base / "keys" / "sup2.txt"
    s.run(sup, "team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(sup2), "--name", "Second Supervisor")
    s.run(sup, "team", "list")
    s.run(sup, "team", "list", "--all", "--json")
    s.run(sup, "team", "sync")
    s.run(amina, "team", "sync", "--json")
    s.run(amina, "form", "blank", "registration")
    s.run(amina, "form", "blank", "registration", "--lang", "sw")
    s.run(amina, "key", "show")
    s.run(amina, "key", "show", "--json")
    # error paths
    wrong_check = case_id[:-1] + ("0" if case_id[-1] != "0" else "1")
    s.run(amina, "show", wrong_check, expect=2)
    s.run(amina, "show", "CP-0000-0000", expect=3)
    s.run(amina, "log", "CP-0000-0000", "--json", expect=3)
    s.run(cli_as("otieno"), "show", case_id, expect=5)  # removed from the team
    s.run(amina, "register", "--from-file", "-", expect=4,
          input=json.dumps(registration(child={"name": CANARY, "sex": "girl", "date_of_birth": "2099-01-01"}, risk="hihg",
                                        location=CANARY, caregiver={"name": CANARY, "relashionship": CANARY})))
    s.run(amina, "register", "--from-file", "-", "--json", expect=4,
          input=json.dumps(registration(child={"name": CANARY * 20, "sex": "female", "age_estimate": 40})))
    for broken in (f"child:\n  name: {CANARY}\n\tsex: female\n", f"child: [{CANARY}\n", f"'{CANARY}\n",
                   f"location: {CANARY}: here\n", f"child: *{CANARY.split()[0]}\n"):
        s.run(amina, "register", "--from-file", "-", expect=2, input=broken)
    s.run(amina, "assign", case_id, "--worker", "nobody", expect=3)
    s.run(amina, "assign", case_id, "--worker", "amina", expect=4)
    s.run(amina, "show", case_id, "--identity", str(base / "keys" / "missing.txt"), expect=5)
    s.case_id = case_id
    return s


def test_privacy__canary_nowhere_in_the_casefile_repository_files(world):
    _, repo, _ = world
    assert (repo / ".git").is_dir() and list((repo / ".cpcm" / "cache").iterdir())
    assert files_with_marker(repo) == []


def test_privacy__canary_nowhere_in_any_git_object(world):
    _, repo, _ = world
    objects = git_objects(repo)
    assert b" blob " in objects  # the records are there, as ciphertext
    assert not leaks(objects)


def test_privacy__canary_nowhere_in_git_log_with_patches(world):
    _, repo, _ = world
    log = git_log_patch(repo)
    assert b"register CP-" in log
    assert not leaks(log)


def test_privacy__canary_nowhere_in_the_temp_folder_or_home(world):
    base, _, _ = world
    assert files_with_marker(base / "tmp") == []
    assert files_with_marker(base) == []  # keys, home, casefiles: the whole test folder


def test_privacy__canary_never_on_stderr(world):
    _, _, s = world
    leaked = [args for args, err in s.stderr if leaks(err.encode())]
    assert leaked == []
    warned = " ".join(err for _, err in s.stderr)
    assert "possible duplicate" in warned  # the duplicate was found and reported, by case ID only


def test_privacy__canary_not_on_stdout_unless_names_were_asked_for(world):
    _, _, s = world
    assert [args for args, out in s.stdout_without_names if leaks(out.encode())] == []


def test_privacy__the_local_cache_is_encrypted(world):
    _, repo, _ = world
    caches = list((repo / ".cpcm" / "cache").iterdir())
    assert caches, "list should have written its summary cache"
    for path in caches:
        assert path.read_bytes().startswith(b"age-encryption.org/v1\n")


def test_commit_messages__follow_the_fixed_templates(world):
    _, repo, _ = world
    messages = git(repo, "log", "--all", "--format=%B%x00").split("\0")
    messages = [m.strip() for m in messages if m.strip()]
    # init, team add x2, register x2, assign x2, team remove, team add
    assert len(messages) == 9
    assert [m for m in messages if not TEMPLATES.match(m)] == []


def test_scans__find_a_planted_marker(repo, tmp_env):
    """The scanners above are able to fail: plaintext planted in each place is found."""
    (tmp_env / "tmp" / "note.txt").write_text(CANARY.upper())
    assert files_with_marker(tmp_env / "tmp")
    (repo / ".cpcm" / "cache" / "stray").parent.mkdir(parents=True, exist_ok=True)
    (repo / ".cpcm" / "cache" / "stray").write_text(CANARY.split()[1])
    assert files_with_marker(repo)
    subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=CANARY.encode(), check=True, capture_output=True)
    assert leaks(git_objects(repo))
    assert not TEMPLATES.match(f"register CP-AAAA-AAAA {CANARY}")


def test_privacy__a_name_typed_as_a_case_id_is_not_echoed(cli):
    result = cli("show", CANARY)
    assert result.code == 2
    assert not leaks(result.stderr.encode())


def test_privacy__a_stray_argument_is_not_echoed(cli):
    result = cli("list", CANARY)
    assert result.code == 2
    assert not leaks(result.stderr.encode())
