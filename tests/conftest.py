"""Shared fixtures: identities, casefile repositories and two ways to run cpcm.

- `cli(...)` runs cpcm in this process (fast): returns a Result with code, stdout, stderr.
- `cli.process(...)` runs the real `cpcm` executable in a subprocess (for concurrency,
  interruption and anything that needs a separate process).
Both use the environment a user would: CPCM_REPO, CPCM_IDENTITY and CPCM_NOW.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CANARY = "Zqxcanary Wbvmarker"  # a name that appears nowhere else: tests look for it on disk
NOW = "2026-11-23T09:00:00+03:00"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


class Cli:
    def __init__(self, env: dict[str, str]):
        self.env = env

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None) -> Result:
        from cpcm.cli import main

        out, err = io.StringIO(), io.StringIO()
        saved_env = dict(os.environ)
        saved_stdin = sys.stdin
        os.environ.update(self.env)
        os.environ.update(env or {})
        sys.stdin = io.StringIO(input or "")
        code = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(list(args))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin = saved_stdin
            os.environ.clear()
            os.environ.update(saved_env)
        return Result(code, out.getvalue(), err.getvalue())

    def process(self, *args: str, input: str | None = None, env: dict | None = None, wait: bool = True):
        full = dict(os.environ)
        full.update(self.env)
        full.update(env or {})
        command = [sys.executable, "-m", "cpcm", *args]
        if not wait:
            return subprocess.Popen(command, env=full, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = subprocess.run(command, env=full, input=input or "", capture_output=True, text=True)
        return Result(done.returncode, done.stdout, done.stderr)


def make_identity(path: Path) -> str:
    from cpcm.crypto import identity

    text, public = identity.generate("2026-01-01T00:00:00+00:00", "test key")
    identity.save(path, text, None)
    return public


def signing_line(path: Path) -> str:
    """The public signing key of the identity at `path` (what `cpcm key show` prints on its second line)."""
    from cpcm.crypto import identity, signing

    return signing.for_identity(identity.load(path, lambda: None)).line()


def signed_commit(repo: Path, worker: str, message: str, *paths: str, agency: str = "test", key: Path | None = None) -> str:
    """A commit made by hand in a test (the files as they are on disk), with `worker`'s cpcm address
    and signed with the key of `key` (default: the test's keys/<worker>.txt; none there: unsigned)."""
    from cpcm.crypto import identity, signing
    from cpcm.store.git import Git

    path = key or repo.parent / "keys" / f"{worker}.txt"
    signer = signing.for_identity(identity.load(path, lambda: None)) if path.exists() else None
    return Git(repo, signer).commit(list(paths), message, worker, f"{worker}@{agency.lower()}.cpcm.invalid")


@pytest.fixture
def tmp_env(tmp_path, monkeypatch):
    """Keep temp files of this test inside its own folder, so tests can inspect them."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    return tmp_path


@pytest.fixture
def team(tmp_env):
    """Identity files for a supervisor and two caseworkers: {worker id: (path, recipient)}."""
    keys = {}
    for worker in ("sup", "amina", "otieno"):
        path = tmp_env / "keys" / f"{worker}.txt"
        keys[worker] = (path, make_identity(path))
    return keys


@pytest.fixture
def repo(tmp_env, team):
    """A casefile repository: 'sup' (supervisor) made it; 'amina' and 'otieno' are caseworkers."""
    root = tmp_env / "casefiles"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    # the agency's zone is fixed (the tests' NOW is +03:00), whatever the zone of the machine running them
    result = sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor",
                 "--timezone", "Africa/Nairobi")
    assert result.code == 0, result.stderr
    for worker in ("amina", "otieno"):
        added = sup("team", "add", worker, "--role", "caseworker", "--recipient", team[worker][1],
                    "--signing-key", signing_line(team[worker][0]))
        assert added.code == 0, added.stderr
    return root


@pytest.fixture
def cli_as(repo, team):
    """cli_as('amina')('list') runs cpcm as that worker on the test repository."""
    def make(worker: str, **env) -> Cli:
        base = {"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team[worker][0]), "CPCM_NOW": NOW}
        base.update(env)
        return Cli(base)
    return make


@pytest.fixture
def cli(cli_as):
    """cpcm as the caseworker 'amina'."""
    return cli_as("amina")


def registration(**overrides) -> dict:
    """A valid registration document; override any top-level key."""
    doc = {
        "child": {"name": "Test Child", "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
        "location": "Nyalenda, Kisumu",
        "lives_with": "relatives",
        "caregiver": {"name": "Test Caregiver", "relationship": "grandmother"},
        "identified_by": "community_member",
        "concerns": ["neglect"],
        "risk": "high",
        "consent": {"child": "given", "caregiver": "given", "explained": True},
    }
    doc.update(overrides)
    return doc


def register(cli: Cli, *extra: str, **overrides) -> str:
    """Register a child through the CLI (YAML on stdin); returns the case ID."""
    result = cli("register", "--from-file", "-", "--json", *extra, input=json.dumps(registration(**overrides)))
    assert result.code == 0, result.stderr
    return result.json()["case_id"]


# -- helpers for the store, privacy and interoperability suites --------------------------------
def git(root: Path, *args: str, binary: bool = False):
    """Run git in a casefile repository (read-only uses, or a test's own commits)."""
    done = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=root, capture_output=True, check=True)
    return done.stdout if binary else done.stdout.decode("utf-8", "replace")


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def last_commit(root: Path) -> dict:
    """The newest commit: author/committer name and email, subject and full message."""
    fields = git(root, "log", "-1", "--format=%an%x00%ae%x00%cn%x00%ce%x00%s%x00%B").split("\0")
    return {"author": fields[0], "email": fields[1], "committer": fields[2], "committer_email": fields[3],
            "subject": fields[4], "message": fields[5].strip()}


def git_status(root: Path) -> list[str]:
    """Uncommitted changes and untracked files (ignored files are not listed)."""
    return [line for line in git(root, "status", "--porcelain", "--untracked-files=all").splitlines() if line.strip()]


def record_files(root: Path, case_id: str | None = None) -> list[Path]:
    """Every record file in the repository's working tree (or in one case)."""
    pattern = f"{case_id or '*'}/*.yaml.age"
    return sorted((root / "cases").glob(pattern))


def stray_files(root: Path) -> list[Path]:
    """Leftovers of an interrupted write: temp files anywhere and the pending note."""
    found = [p for p in root.rglob(".tmp-*") if ".git" not in p.relative_to(root).parts]
    return found + [p for p in [root / ".cpcm" / "pending.json"] if p.exists()]


# The three speeds (docs/testing.md): `pytest -m pure`, `pytest -m e2e`, `pytest -m external`.
# A test is pure when it asks for no temporary folder (directly or through a fixture such as `repo`);
# while it runs, starting a process (git, age, chromium, cpcm) is an error, so the label cannot lie.
# External tests start real programs other than git: the cpcm command, the `age` binary, chromium.
EXTERNAL_MODULES = {"test_concurrency.py", "test_interop.py", "test_reports_browser.py", "test_races.py"}
DISK_FIXTURES = {"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory"}


def pytest_configure(config):
    config.addinivalue_line("markers", "pure: no disk, git, age or process; runs in seconds")
    config.addinivalue_line("markers", "e2e: the CLI in this process on a real casefile repository (git and age)")
    config.addinivalue_line("markers", "external: starts the cpcm command, the age binary or chromium")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(speed) for speed in ("pure", "e2e", "external")):
            continue  # labelled by the test itself (a parameter that needs a repository, say)
        if item.path.name in EXTERNAL_MODULES:
            item.add_marker(pytest.mark.external)
        elif DISK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        else:
            item.add_marker(pytest.mark.pure)


class _NoProcess(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("pure") is None:
        yield
        return

    def refuse(*args, **kwargs):
        raise _NoProcess(f"{item.nodeid} is labelled pure but starts a process; give it tmp_path")

    saved = subprocess.Popen.__init__
    subprocess.Popen.__init__ = refuse
    try:
        yield
    finally:
        subprocess.Popen.__init__ = saved
