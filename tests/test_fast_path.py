"""`cpcm show`, `due` and `list` parsed without typer (cli/fast.py) print exactly what the typer
commands print: the same output, errors and exit codes, for plain text and --json."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import register

from cpcm.cli import fast


PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: sys.stderr.write('\\ntyper imported: %s, rich imported: %s\\n'"
         " % ('typer' in sys.modules, 'rich' in sys.modules)))\n"
         "from cpcm.cli import main\nmain(sys.argv[1:])\n")


def imports(repo, team, *args: str) -> subprocess.CompletedProcess:
    """cpcm run with `args` in a fresh process as amina, its stderr ending with whether typer and
    rich were imported."""
    env = {**os.environ, "CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["amina"][0])}
    return subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True)


def both(cli, monkeypatch, *args: str):
    """(fast path's result, typer's result) for the same command line."""
    assert fast.parse(list(args)) is not None, "the fast path should serve this command line"
    quick = cli(*args)
    with monkeypatch.context() as patched:
        patched.setattr(fast, "parse", lambda args: None)
        slow = cli(*args)
    return quick, slow


def same(cli, monkeypatch, *args: str) -> None:
    """Both paths succeed with the same output (something printed) and the same messages."""
    quick, slow = both(cli, monkeypatch, *args)
    assert quick.code == slow.code == 0, (args, quick.stderr, slow.stderr)
    assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args
    assert quick.stdout.strip()


def same_error(cli, monkeypatch, *args: str) -> None:
    """Both paths fail with the same exit code, output and messages."""
    quick, slow = both(cli, monkeypatch, *args)
    assert quick.code == slow.code != 0, (args, quick.code, slow.code)
    assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args


def test_show__fast_path_prints_what_typer_prints(cli, repo, team, monkeypatch):
    case = register(cli)
    assert cli("note", case, "--text", "called the school").code == 0
    for args in [("show", case), ("show", case, "--json"), ("show", "--json", case), ("show", case, "last"),
                 ("show", case, "last", "--json"), ("show", case, "--repo", str(repo)), ("show", f"--repo={repo}", case),
                 ("show", case, "-i", str(team["amina"][0])), ("show", case, "--identity", str(team["amina"][0]), "--json")]:
        same(cli, monkeypatch, *args)


def test_show__fast_path_errors_and_exit_codes_are_typers(cli, repo, monkeypatch, tmp_path):
    case = register(cli)
    other = "CP-4F7K-9X2M"
    missing_repo = tmp_path / "nowhere"
    for args in [("show", "not-a-case"), ("show", "not-a-case", "--json"), ("show", other), ("show", other, "--json"),
                 ("show", case, "no-such-record"), ("show", case, "no-such-record", "--json"), ("show", case, "\udcff"),
                 ("show", "\udcff"), ("show", case, "--repo", str(missing_repo)), ("show", case, "--repo", str(missing_repo), "--json")]:
        same_error(cli, monkeypatch, *args)


@pytest.mark.parametrize("args", [
    ["show"], ["show", "--help"], ["show", "-h"], ["show", "--", "CP-4F7K-9X2M"], ["show", "A", "B", "C"],
    ["show", "A", "--json", "--json"], ["show", "A", "--repo"], ["show", "A", "--repo", "x", "--repo", "y"],
    ["show", "A", "--names"], ["show", "A", "-iFILE"], ["show", "A", "--repo="], ["log", "A"], ["--version"], [],
])
def test_fast_path__leaves_to_typer_what_it_does_not_know(args):
    assert fast.parse(args) is None


def test_a_command_that_only_reads_imports_no_cryptography(cli, repo, team):
    """`cryptography` (20 to 30 ms to import) signs commits and checks signatures: a command that only reads
    does neither and does not import it; a write, which signs its commit, does."""
    case = register(cli)
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write('\\ncryptography imported: %s\\n' % ('cryptography' in sys.modules)))\n"
             "from cpcm.cli import main\nmain(sys.argv[1:])\n")
    env = {**os.environ, "CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["amina"][0])}
    for args, imported in [(("due",), False), (("list",), False), (("show", case), False), (("due", "--json"), False),
                           (("note", case, "--text", "called the school"), True)]:
        done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stderr.rstrip().endswith(f"cryptography imported: {imported}"), (args, done.stderr[-300:])


def test_show__the_fast_path_imports_no_typer(cli, repo, team):
    case = register(cli)
    shown = imports(repo, team, "show", case)
    assert shown.returncode == 0, shown.stderr
    assert "typer imported: False" in shown.stderr
    logged = imports(repo, team, "log", case)
    assert logged.returncode == 0 and "typer imported: True" in logged.stderr


def test_due__fast_path_prints_what_typer_prints(cli, cli_as, repo, team, monkeypatch):
    register(cli)
    register(cli, child={"name": "Second Child", "sex": "male", "date_of_birth": "2012-05-05", "disability": "no"})
    for args in [("due",), ("due", "--json"), ("due", "--worker", "all"), ("due", "--worker=all", "--within", "400"),
                 ("due", "--within=30", "--json"), ("due", "--overdue"), ("due", "--within", "0.5", "--overdue", "--json"),
                 ("due", "--worker", "otieno"), ("due", "--repo", str(repo)), ("due", f"--repo={repo}", "--worker", "all"),
                 ("due", "-i", str(team["amina"][0])), ("due", "--identity", str(team["amina"][0]), "--json")]:
        for now in ("2026-11-23T10:00:00+03:00", "2026-12-20T09:00:00+03:00"):
            same(cli_as("amina", CPCM_NOW=now), monkeypatch, *args)


def test_due__fast_path_errors_and_exit_codes_are_typers(cli, repo, monkeypatch, tmp_path):
    register(cli)
    missing_repo = tmp_path / "nowhere"
    for args in [("due", "--worker", "nobody"), ("due", "--worker", "nobody", "--json"), ("due", "--within", "nan"),
                 ("due", "--within", "1e9"), ("due", "--worker", "\udcff"), ("due", "--repo", str(missing_repo)),
                 ("due", "--repo", str(missing_repo), "--json"), ("due", "--identity", str(tmp_path / "no-key"))]:
        same_error(cli, monkeypatch, *args)


@pytest.mark.parametrize("args", [
    ["due", "--help"], ["due", "-h"], ["due", "--ics", "x.ics"], ["due", "--force"], ["due", "CP-4F7K-9X2M"], ["due", "--within"],
    ["due", "--within", "abc"], ["due", "--within", "-1"], ["due", "--overdue", "--overdue"], ["due", "--json", "--json"],
    ["due", "--worker", "a", "--worker", "b"], ["due", "--worker="], ["due", "-iFILE"], ["due", "--names"], ["due", "--"],
])
def test_due__fast_path_leaves_to_typer_what_it_does_not_know(args):
    assert fast.parse(args) is None


def test_due__the_fast_path_imports_no_typer(cli, repo, team):
    register(cli)
    for args in (["due"], ["due", "--worker", "all", "--within", "30", "--json"]):
        done = imports(repo, team, *args)
        assert done.returncode == 0, done.stderr
        assert "typer imported: False, rich imported: False" in done.stderr  # piped: plain text


def test_list__fast_path_prints_what_typer_prints(cli, cli_as, repo, team, monkeypatch):
    register(cli)
    register(cli, child={"name": "Second Child", "sex": "male", "date_of_birth": "2012-05-05", "disability": "no"})
    register(cli_as("otieno"))
    for args in [("list",), ("list", "--json"), ("list", "--names"), ("list", "--names", "--json"), ("list", "--status", "open"),
                 ("list", "--risk=high"), ("list", "--worker", "amina", "--stage", "registered"), ("list", "--status", "closed"),
                 ("list", "--repo", str(repo)), ("list", f"--repo={repo}", "--json"), ("list", "-i", str(team["amina"][0])),
                 ("list", "--identity", str(team["amina"][0]), "--names"), ("list", "--status", "pending", "--json")]:
        same(cli, monkeypatch, *args)


def test_list__fast_path_errors_and_exit_codes_are_typers(cli, repo, monkeypatch, tmp_path):
    register(cli)
    missing_repo = tmp_path / "nowhere"
    for args in [("list", "--worker", "\udcff"),
                 ("list", "--stage", "\udcff"), ("list", "--repo", str(missing_repo)), ("list", "--repo", str(missing_repo), "--json"),
                 ("list", "--identity", str(tmp_path / "no-key"))]:
        same_error(cli, monkeypatch, *args)


@pytest.mark.parametrize("args", [
    ["list", "--help"], ["list", "-h"], ["list", "CP-4F7K-9X2M"], ["list", "--status"], ["list", "--names", "--names"],
    ["list", "--risk", "a", "--risk", "b"], ["list", "--worker="], ["list", "-iFILE"], ["list", "--overdue"], ["list", "--"],
])
def test_list__fast_path_leaves_to_typer_what_it_does_not_know(args):
    assert fast.parse(args) is None


def test_list__the_fast_path_imports_no_typer(cli, repo, team):
    register(cli)
    for args in (["list"], ["list", "--risk", "high", "--json"]):
        done = imports(repo, team, *args)
        assert done.returncode == 0, done.stderr
        assert "typer imported: False" in done.stderr
