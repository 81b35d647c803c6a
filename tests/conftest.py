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
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


_APPS: dict = {}  # the command's module name (None: every module) -> its Typer application
_COMMANDS: dict = {}  # id(application) -> (application, its click command tree)


@contextlib.contextmanager
def built_once():
    """`cpcm.cli.main` as a process runs it, once per process: a `cpcm` process builds the click
    command tree of the command it runs once (cli.app.build, typer's get_command: a tenth of a
    second), and so does each test process here, keeping it for the next in-process run instead
    of building it again at each. Nothing else of `main` changes: its arguments check, error
    handling and exit codes run every time."""
    import typer.main

    from cpcm.cli import app as app_module

    real_build, real_get_command = app_module.build, typer.main.get_command

    def build(command: str | None = None):
        key = command if command in app_module.MODULES else None  # what build() itself goes by
        if key not in _APPS:
            _APPS[key] = real_build(command)
        return _APPS[key]

    def get_command(application):
        known = _COMMANDS.get(id(application))
        if known is None or known[0] is not application:
            known = _COMMANDS[id(application)] = (application, real_get_command(application))
        return known[1]

    app_module.build, typer.main.get_command = build, get_command
    try:
        yield
    finally:
        app_module.build, typer.main.get_command = real_build, real_get_command


def restore_environ(saved: dict[str, str]) -> None:
    """os.environ exactly as `saved` again (after a run that set its own variables, or whose
    command set some): only what differs is set or removed, not every variable."""
    now = dict(os.environ)
    if now == saved:
        return
    for name in now.keys() - saved.keys():
        del os.environ[name]
    for name, value in saved.items():
        if now.get(name) != value:
            os.environ[name] = value


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
            with built_once(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(list(args))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin = saved_stdin
            restore_environ(saved_env)
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


# -- the template: what every test's team and repository start from, made once per test process ------
TEAM = {"sup": "supervisor", "amina": "caseworker", "otieno": "caseworker"}


def make_repo(root: Path, keys: dict[str, tuple[Path, str]], *init_args: str, agency: str = "TEST",
              name: str = "Test Agency", workers: dict[str, str] | None = None, timezone: str | None = "Africa/Nairobi",
              now: str = NOW) -> Path:
    """A casefile repository made through the CLI as a user makes one: `cpcm init` by the first
    worker of `workers` (default: the test team, 'sup' a supervisor), then `cpcm team add` for the
    others. `keys`: {worker: (identity path, recipient)}; `init_args`: more `cpcm init` options.
    The agency's zone is fixed by default (the tests' NOW is +03:00), whatever the zone of the
    machine; `timezone=None` leaves it to `cpcm init`."""
    workers = dict(workers or TEAM)
    first, *others = workers
    made = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys[first][0]), "CPCM_NOW": now})
    result = made("init", "--agency", agency, "--name", name, "--worker", first, "--role", workers[first], *init_args,
                  *(("--timezone", timezone) if timezone else ()))
    assert result.code == 0, result.stderr
    for worker in others:
        added = made("team", "add", worker, "--role", workers[worker], "--recipient", keys[worker][1],
                     "--signing-key", signing_line(keys[worker][0]))
        assert added.code == 0, added.stderr
    return root


@dataclass
class Template:
    """The test team's identity files and the repository they made, built once per test process
    (`cpcm init`, two `cpcm team add`, three keys: about a second and a half a test otherwise).
    Each test gets its own copy, so no test sees another's writes."""
    keys: dict[str, tuple[Path, str]]
    root: Path
    case_id: str | None = None  # a case the template holds, where it was made with one

    def copy_keys(self, folder: Path) -> dict[str, tuple[Path, str]]:
        folder.mkdir(parents=True, exist_ok=True)
        copied = {}
        for worker, (path, recipient) in self.keys.items():
            shutil.copy2(path, folder / path.name)  # with its mode: identity files are private
            copied[worker] = (folder / path.name, recipient)
        return copied

    def copy_repo(self, root: Path) -> Path:
        shutil.copytree(self.root, root, symlinks=True)
        return root


@contextlib.contextmanager
def private_env(base: Path):
    """TMPDIR, HOME and XDG_CONFIG_HOME inside `base`, for fixtures wider than one test."""
    (base / "tmp").mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(base / "tmp"))
        mp.setenv("HOME", str(base / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(base / "home" / ".config"))
        mp.setenv("XDG_STATE_HOME", str(base / "home" / ".local" / "state"))
        yield mp


@pytest.fixture
def few(monkeypatch):
    """A fill on worker processes from two missing cases on (a repository of a few cases stands in
    for a large one), its due and statistics rows stored as a large fill stores them."""
    from cpcm.service import context, fill, tables

    monkeypatch.setattr(fill, "FILL_FROM", 2)
    monkeypatch.setattr(context, "PREFETCH_FROM", 2)
    monkeypatch.setattr(tables, "BULK_FROM", 2)


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory) -> Template:
    base = tmp_path_factory.mktemp("template")
    with private_env(base):
        keys = {}
        for worker in TEAM:
            path = base / "keys" / f"{worker}.txt"
            keys[worker] = (path, make_identity(path))
        root = make_repo(base / "casefiles", keys)
    return Template(keys, root)


# -- a repository a module's tests share, and the steps its cases are built with ----------------------
CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care"]


@contextlib.contextmanager
def shared_repo(tmp_path_factory, repo_template: "Template", name: str):
    """For a module-scoped fixture: a copy of the template repository and keys in a folder of its
    own (`repo.root.parent`), with TMPDIR, HOME and XDG_CONFIG_HOME inside that folder while the
    fixture is in use. Yields a Repo: `repo("amina")` runs cpcm as amina on it."""
    base = tmp_path_factory.mktemp(name)
    with private_env(base):
        keys = repo_template.copy_keys(base / "keys")
        yield Repo(repo_template.copy_repo(base / "casefiles"), keys, repo_template)


def consent_both(cli: Cli, case_id: str, *extra: str, purpose: str = "referral", agency: str = "clinic") -> None:
    """The child's assent and the caregiver's consent (one command each), everything explained."""
    for giver in ("child", "caregiver"):
        result = cli("consent", case_id, "--purpose", purpose, "--agency", agency, "--by", giver, "--status", "given",
                     "--explained", "all", *extra)
        assert result.code == 0, result.stderr


# -- the kenya profile: a repository made with --policy kenya, and a case reunified in it -------------
SCCO = ["--for", "closure", "--party", "scco", "--name", "J. Mwangi", "--title", "Sub-County Children's Officer", "--date", "2026-11-20"]
REVIEW = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
          "decisions": ["continue the plan"], "outcome": "continue"}


@dataclass
class Repo:
    """A test's casefile repository: `repo("amina")` (or `repo("amina", now)`) is cpcm as that
    worker on it; `repo.root` its folder."""
    root: Path
    keys: dict[str, tuple[Path, str]]
    made_from: Template | None = None  # the template it is a copy of
    reunified_template: Any = None  # () -> the template holding a reunified case (made on first use)

    def __call__(self, worker: str, now: str = NOW) -> Cli:
        return Cli({"CPCM_REPO": str(self.root), "CPCM_IDENTITY": str(self.keys[worker][0]), "CPCM_NOW": now})

    as_ = __call__


def build_planned(kenya: Repo) -> str:
    """A kenya case registered by amina (high risk), assessed (initial, comprehensive), its first
    plan approved by sup. Through the CLI."""
    from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    return case_id


def build_reunified(kenya: Repo) -> str:
    """A kenya case reunified with its family (a best-interests record, then a plan for
    reunification_done, approved), reviewed once: at stage implementation, with a monitoring visit
    since the plan. Through the CLI."""
    from test_assess_plan import plan_doc
    from test_placements import BID

    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc("reunification_done"))).code == 0
    assert sup("approve", case_id, "plan").code == 0
    assert amina("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)).code == 0
    assert amina("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                 "--visited-by", "professional", "--risk-increased", "no").code == 0
    return case_id


def reunified(kenya: Repo, sign_off: bool = True) -> str:
    """The `kenya` repository with a reunified case (build_reunified) and, with `sign_off`, the
    Sub-County Children's Officer's sign-off of its closure (Form 9A). The case is built once per
    test process and the test's repository becomes a copy of that one: call it before writing
    anything else to the repository."""
    assert kenya.made_from is not None and head(kenya.root) == head(kenya.made_from.root), \
        "reunified() starts from the kenya repository as made: call it first"
    template = kenya.reunified_template()
    shutil.rmtree(kenya.root)
    template.copy_repo(kenya.root)
    if sign_off:
        assert kenya("sup")("sign-off", template.case_id, *SCCO).code == 0
    return template.case_id


@pytest.fixture(scope="session")
def kenya_template(tmp_path_factory, repo_template) -> Template:
    """A casefile repository made with --policy kenya by 'sup' (supervisor); 'amina' is a caseworker."""
    base = tmp_path_factory.mktemp("kenya")
    keys = {w: repo_template.keys[w] for w in ("sup", "amina")}
    with private_env(base):
        root = make_repo(base / "kenya", keys, "--policy", "kenya", agency="KE", name="Kenya test",
                         workers={"sup": "supervisor", "amina": "caseworker"})
    return Template(keys, root)


@pytest.fixture(scope="session")
def reunified_template(tmp_path_factory, kenya_template) -> Template:
    """The kenya repository with one case built by build_reunified."""
    base = tmp_path_factory.mktemp("reunified")
    with private_env(base):
        made = Repo(kenya_template.copy_repo(base / "kenya"), kenya_template.keys)
        case_id = build_reunified(made)
    return Template(kenya_template.keys, made.root, case_id)


@pytest.fixture
def kenya(tmp_env, team, kenya_template, request) -> Repo:
    """A casefile repository made with --policy kenya: 'sup' (supervisor) made it, 'amina' is a
    caseworker (a copy of the template). `kenya("amina")` runs cpcm as amina; see reunified()."""
    return Repo(kenya_template.copy_repo(tmp_env / "kenya"), team, kenya_template,
                lambda: request.getfixturevalue("reunified_template"))


# -- a transfer between two agencies: this test repository sends, a second one receives ---------------
@pytest.fixture(scope="session")
def receiving_template(tmp_path_factory) -> Template:
    """The receiving agency's keys and repository, made once per test process."""
    base = tmp_path_factory.mktemp("receiving")
    with private_env(base):
        keys = {}
        for worker in ("kim", "wanjiru"):
            path = base / "keys-recv" / f"{worker}.txt"
            keys[worker] = (path, make_identity(path))
        root = make_repo(base / "casefiles-recv", keys, agency="RECV", name="Receiving Agency",
                         workers={"kim": "supervisor", "wanjiru": "caseworker"}, timezone=None)
    return Template(keys, root)


@pytest.fixture
def receiving(tmp_env, receiving_template) -> Repo:
    """A second casefile repository with its own team and keys: 'kim' (supervisor) made it,
    'wanjiru' is a caseworker (a copy of the template, in this test's folder)."""
    keys = receiving_template.copy_keys(tmp_env / "keys-recv")
    return Repo(receiving_template.copy_repo(tmp_env / "casefiles-recv"), keys, receiving_template)


@pytest.fixture
def sending(repo, team, cli_as, receiving) -> Repo:
    """The test repository ('sup', 'amina', 'otieno'), with the receiving agency in its service
    directory under the id 'recv' and the receiving caseworker's key."""
    added = cli_as("sup")("service", "add", "recv", "--provider", "Receiving Agency", "--sector", "alternative_care",
                          "--offers", "case management", "--recipient", receiving.keys["wanjiru"][1])
    assert added.code == 0, added.stderr
    return Repo(repo, team)


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
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home" / ".local" / "state"))  # the day's tip to unlock
    return tmp_path


@pytest.fixture
def team(tmp_env, repo_template):
    """Identity files for a supervisor and two caseworkers: {worker id: (path, recipient)}.
    Copies of the template's (made once per test process), in this test's own folder."""
    return repo_template.copy_keys(tmp_env / "keys")


@pytest.fixture
def repo(tmp_env, team, repo_template):
    """A casefile repository: 'sup' (supervisor) made it; 'amina' and 'otieno' are caseworkers.
    A copy of the template's (`cpcm init` and two `cpcm team add` run once per test process)."""
    return repo_template.copy_repo(tmp_env / "casefiles")


@pytest.fixture
def cli_as(repo, team):
    """cli_as('amina')('list') runs cpcm as that worker on the test repository."""
    def make(worker: str, **env) -> Cli:
        base = {"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team[worker][0]), "CPCM_NOW": NOW}
        base.update(env)
        return Cli(base)
    return make


@pytest.fixture
def reads(monkeypatch):
    """The case ids read from their files from here on."""
    from cpcm.store.casestore import CaseStore

    found: list[str] = []
    original, many = CaseStore.read_records, CaseStore.read_many
    monkeypatch.setattr(CaseStore, "read_records",
                        lambda self, case_id, keys, *a, **k: found.append(case_id) or original(self, case_id, keys, *a, **k))

    def read_many(self, case_ids, keys, *args, **kwargs):
        read = many(self, case_ids, keys, *args, **kwargs)
        found.extend(read)  # a case it could not read is read again by `read_records`, and counted there
        return read
    monkeypatch.setattr(CaseStore, "read_many", read_many)
    return found


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


def library_session(cli: Cli):
    """A service session (`service.open_repo`) on `cli`'s repository, as its worker, at its time."""
    from datetime import datetime

    from cpcm import service

    env = cli.env
    return service.open_repo(Path(env["CPCM_REPO"]), Path(env["CPCM_IDENTITY"]),
                             now=datetime.fromisoformat(env["CPCM_NOW"]) if env.get("CPCM_NOW") else None)


def register_many(cli: Cli, count: int, **overrides) -> list[str]:
    """`count` registrations as `cli`'s worker, one commit each, through the library in one session
    (setting up for tests whose subject is not registration: a CLI run per case costs a second)."""
    from cpcm import service

    ctx = library_session(cli)
    return [service.register(ctx, json.loads(json.dumps(registration(**overrides)))).subject_id for _ in range(count)]


def settling_said(done: Result, code: str, case_id: str | None = None) -> list[str]:
    """Where a command's output says it settles the sync conflict `code` (of `case_id`, where given):
    among its --json output's warnings and next steps, or the lines of its human output. A write
    that settles one says so once (service/context.py `with_settled`)."""
    try:
        data = json.loads(done.stdout)
    except ValueError:
        data = None
    said = (data["warnings"] + data["next_steps"]) if isinstance(data, dict) else (done.stdout + done.stderr).splitlines()
    return [line for line in said if code in line and "settle" in line and (case_id is None or case_id in line)]


# -- helpers for the store, privacy and interoperability suites --------------------------------
def on_terminal(argv: list[str], env: dict, columns: int | None = None, stderr=None) -> tuple[bytes, int]:
    """(what `argv` wrote, its exit code), run with stdout and stderr on one pseudo-terminal (of
    `columns` columns when given), as a person at a terminal sees them, in the order written;
    `stderr`: a file that takes stderr instead."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave if stderr is None else stderr)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    code = proc.wait()
    os.close(master)
    return b"".join(chunks), code


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


@contextlib.contextmanager
def lock_held(repo: Path):
    """The repository's write lock held by another command (as one that writes holds it) for the block."""
    import fcntl

    fd = os.open(repo / ".cpcm" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def git_status(root: Path) -> list[str]:
    """Uncommitted changes and untracked files (ignored files are not listed)."""
    return [line for line in git(root, "status", "--porcelain", "--untracked-files=all").splitlines() if line.strip()]


def record_files(root: Path, case_id: str | None = None) -> list[Path]:
    """Every record file in the repository's working tree (or in one case)."""
    from cpcm.store.layout import case_dir

    if case_id:
        return sorted(case_dir(root, case_id).glob("*.yaml.age"))
    return sorted((root / "cases").glob("*/*/*.yaml.age"))


def stray_files(root: Path) -> list[Path]:
    """Leftovers of an interrupted write: temp files anywhere and the pending note."""
    found = [p for p in root.rglob(".tmp-*") if ".git" not in p.relative_to(root).parts]
    return found + [p for p in [root / ".cpcm" / "pending.json"] if p.exists()]


# The three speeds (docs/testing.md): `pytest -m pure`, `pytest -m e2e`, `pytest -m external`.
# A test is pure when it asks for no temporary folder (directly or through a fixture such as `repo`);
# while it runs, starting a process (git, age, chromium, cpcm) is an error, so the label cannot lie.
# External tests start real programs other than git: the cpcm command, the `age` binary, chromium.
EXTERNAL_MODULES = {"test_concurrency.py", "test_demo.py", "test_interop.py", "test_reports_browser.py", "test_races.py"}
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
    items.sort(key=run_order)


# The order tests run in: the modules holding the longest tests first (longest first), then the
# other end-to-end and external tests as collected, then the pure tests (milliseconds each). With
# `pytest -n N` each worker takes the next tests in this order as it becomes free (the Makefile
# passes --maxschedchunk so none is handed a long queue), so a long test starts early instead of
# keeping one worker busy at the end while the other waits, and the run ends on short tests.
# A module's tests keep their order and stay together, so its module-scoped fixtures are made at
# most once per worker. Only the order changes: no test depends on another's having run.
LONG_FIRST = ("test_agent_serve.py", "test_due_table.py", "test_sync_simulation.py", "test_verify.py", "test_agent.py",
              "test_agent_day_walk.py", "test_demo.py",
              "test_privacy.py", "test_import.py", "test_completion.py", "test_crash.py", "test_views.py",
              "test_generated_docs.py", "test_roundtrip.py", "test_errors.py", "test_architecture.py", "test_git_files.py",
              "test_cache_scale.py", "test_smoke.py", "test_form_print.py", "test_interop.py", "test_render_closure.py",
              "test_reports_browser.py", "test_races.py", "test_dueview_overlay_random.py", "test_recovery_drill.py",
              "test_new_laptop_walk.py", "test_due_stage.py", "test_check_sync_wording.py")


def run_order(item) -> tuple[int, int]:
    if item.get_closest_marker("pure"):
        return (2, 0)
    name = item.path.name
    return (0, LONG_FIRST.index(name)) if name in LONG_FIRST else (1, 0)


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


# -- fsync: a no-op in the test processes -----------------------------------------------------------
# Every write of cpcm fsyncs the file and its folder (cpcm/store/atomic.py): what keeps a record
# whole through a power cut. A test cannot cut the power; what it checks of a write (whole or not
# there at all, after a crash at each step) is done by crash points in real `cpcm` processes
# (tests/test_crash.py), which keep the real fsync. In this process fsync only waits for the
# disk, a few milliseconds each, four a write, thousands of writes a run. tests/test_atomic.py
# checks that each write asks for both fsyncs, in their place.
REAL_FSYNC = os.fsync
REAL_SEAL = None  # cpcm's own crypto/identity.py `seal`, kept at the start of the session


# -- a protected identity made in a test: scrypt of a low work factor -------------------------------
# `cpcm key new` and the other commands that protect an identity seal it with pyrage, whose work
# factor is about a second of this machine's time (crypto/identity.py `seal`), and so is every
# opening of it after, in this process or in a `cpcm` process the test starts: tens of seconds of a
# run in all. A key made in a test process is sealed as an age passphrase file too, at 2^10 (tests/agemade.py):
# every reader opens it as it opens the other. The tests of what `key new` writes ask for `real_scrypt`.
def pytest_sessionstart(session):
    from agemade import protect
    from cpcm.crypto import identity

    global REAL_SEAL
    os.fsync = lambda fd: None
    REAL_SEAL, identity.seal = identity.seal, protect


def pytest_sessionfinish(session, exitstatus):
    from cpcm.crypto import identity

    os.fsync = REAL_FSYNC
    identity.seal = REAL_SEAL


@pytest.fixture
def real_scrypt(monkeypatch):
    """Identities sealed as cpcm seals them, with pyrage's work factor (about a second)."""
    from cpcm.crypto import identity

    monkeypatch.setattr(identity, "seal", REAL_SEAL)


@pytest.fixture
def without_views(monkeypatch):
    """Run a command as before the views (and the due and statistics tables): from every case."""
    from cpcm.service import tables as tables_mod, views

    def run(cli: Cli, *args: str, **kw):
        with monkeypatch.context() as patch:
            patch.setattr(views, "place_for", lambda *a, **k: None)
            patch.setattr(tables_mod, "_session", lambda ctx: None)
            return cli(*args, **kw)
    return run
