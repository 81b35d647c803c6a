"""`cpcm show` parsed without typer (cli/fast.py) prints exactly what the typer command prints:
the same output, errors and exit codes, for plain text and --json."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import register

from cpcm.cli import fast


def both(cli, monkeypatch, *args: str):
    """(fast path's result, typer's result) for the same command line."""
    assert fast.parse(list(args)) is not None, "the fast path should serve this command line"
    quick = cli(*args)
    with monkeypatch.context() as patched:
        patched.setattr(fast, "parse", lambda args: None)
        slow = cli(*args)
    return quick, slow


def test_show__fast_path_prints_what_typer_prints(cli, repo, team, monkeypatch):
    case = register(cli)
    assert cli("note", case, "--text", "called the school").code == 0
    for args in [("show", case), ("show", case, "--json"), ("show", "--json", case), ("show", case, "last"),
                 ("show", case, "last", "--json"), ("show", case, "--repo", str(repo)), ("show", f"--repo={repo}", case),
                 ("show", case, "-i", str(team["amina"][0])), ("show", case, "--identity", str(team["amina"][0]), "--json")]:
        quick, slow = both(cli, monkeypatch, *args)
        assert quick.code == slow.code == 0, (args, quick.stderr, slow.stderr)
        assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args
        assert quick.stdout.strip()


def test_show__fast_path_errors_and_exit_codes_are_typers(cli, repo, monkeypatch, tmp_path):
    case = register(cli)
    other = "CP-4F7K-9X2M"
    missing_repo = tmp_path / "nowhere"
    for args in [("show", "not-a-case"), ("show", "not-a-case", "--json"), ("show", other), ("show", other, "--json"),
                 ("show", case, "no-such-record"), ("show", case, "no-such-record", "--json"), ("show", case, "\udcff"),
                 ("show", "\udcff"), ("show", case, "--repo", str(missing_repo)), ("show", case, "--repo", str(missing_repo), "--json")]:
        quick, slow = both(cli, monkeypatch, *args)
        assert quick.code == slow.code != 0, (args, quick.code, slow.code)
        assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args


@pytest.mark.parametrize("args", [
    ["show"], ["show", "--help"], ["show", "-h"], ["show", "--", "CP-4F7K-9X2M"], ["show", "A", "B", "C"],
    ["show", "A", "--json", "--json"], ["show", "A", "--repo"], ["show", "A", "--repo", "x", "--repo", "y"],
    ["show", "A", "--names"], ["show", "A", "-iFILE"], ["show", "A", "--repo="], ["list"], ["--version"], [],
])
def test_fast_path__leaves_to_typer_what_it_does_not_know(args):
    assert fast.parse(args) is None


def test_show__the_fast_path_imports_no_typer(cli, repo, team):
    case = register(cli)
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write('\\ntyper imported: %s\\n' % ('typer' in sys.modules)))\n"
             "from cpcm.cli import main\nmain(sys.argv[1:])\n")
    env = {**os.environ, "CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["amina"][0])}
    shown = subprocess.run([sys.executable, "-c", probe, "show", case], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "typer imported: False" in shown.stderr
    listed = subprocess.run([sys.executable, "-c", probe, "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "typer imported: True" in listed.stderr
