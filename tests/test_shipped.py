"""What a command imports at its start: cpcm's own YAML files (policy profiles, forms) are read
from their parsed twins (`cpcm/*/parsed.json`, store/shipped.py) while unchanged, so a command
that only reads cases does not import ruamel (about 25 ms of every command's start); help that
is not for a terminal is click's plain text, without rich (about 0.2 s)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import register
from cpcm.store import codec, emit, shipped

WRITE_AGAIN = "the parsed twins are stale: run .venv/bin/python -m cpcm.store.shipped and commit cpcm/*/parsed.json"


@pytest.mark.parametrize("kind", shipped.FOLDERS)
def test_each_twin_is_what_its_file_reads_to(kind):
    kept = json.loads((shipped.PACKAGE / kind / shipped.TWINS).read_text(encoding="utf-8"))
    files = sorted(p.name for p in (shipped.PACKAGE / kind).glob("*.yaml"))
    assert sorted(kept) == files, WRITE_AGAIN
    for name in files:
        raw = (shipped.PACKAGE / kind / name).read_bytes()
        assert kept[name] == shipped.made(kind)[name], f"{kind}/{name}: {WRITE_AGAIN}"
        assert shipped.same(shipped.read(shipped.PACKAGE / kind / name), codec.loads(raw)), name


def test_a_file_that_is_not_its_twin_is_read_as_yaml(monkeypatch, tmp_path):
    """An edited file (its digest is not the twin's), a file outside cpcm's folders (an agency's
    own) and a folder without twins are read as YAML."""
    path = shipped.PACKAGE / "policies" / "kenya.yaml"
    real = codec.loads(path.read_bytes())
    forged = {"kenya.yaml": {"sha256": "0" * 64, "data": {"profile": "forged"}}}
    monkeypatch.setattr(shipped, "_twins", lambda kind: forged)
    assert shipped.read(path) == real
    copied = tmp_path / "policies" / "kenya.yaml"
    copied.parent.mkdir()
    shutil.copy(path, copied)
    matching = {"kenya.yaml": {"sha256": shipped.made("policies")["kenya.yaml"]["sha256"], "data": {"profile": "forged"}}}
    monkeypatch.setattr(shipped, "_twins", lambda kind: matching)
    assert shipped.read(copied) == real  # the same bytes, not cpcm's own file
    assert shipped.read(path) == {"profile": "forged"}  # cpcm's own, unchanged: its twin
    monkeypatch.undo()
    shipped._twins.cache_clear()
    monkeypatch.setattr(shipped, "PACKAGE", tmp_path)
    try:
        assert shipped.read(copied) == real  # cpcm's folder without a parsed.json: read as YAML
    finally:
        shipped._twins.cache_clear()


def test_each_read_gives_a_document_of_its_own():
    path = shipped.PACKAGE / "forms" / "registration.yaml"
    first = shipped.read(path)
    first["fields"].clear()
    assert shipped.read(path)["fields"]


def test_the_rules_emit_writes_by_are_ruamels():
    """emit keeps YAML 1.2's implicit resolvers itself (so that reading and writing cpcm's own
    text needs no ruamel): they must be ruamel's, in its order."""
    from ruamel.yaml import YAML

    theirs = {first: [(str(tag), rule.pattern, rule.flags) for tag, rule in rules]
              for first, rules in YAML(typ="safe").resolver.versioned_resolver.items()}
    ours = {first: [(tag, rule.pattern, rule.flags) for tag, rule in rules] for first, rules in emit.implicit_rules().items()}
    assert ours == theirs


@pytest.mark.e2e
def test_reading_cases_does_not_import_ruamel(cli_as, repo):
    """`show`, `list` and `due` (the views warm) and the help read cpcm's own text only."""
    cli = cli_as("amina")
    case_id = register(cli)
    assert cli("list").code == 0 and cli("due").code == 0
    probe = ("import sys, runpy\n"
             "sys.argv = ['cpcm', *sys.argv[1:]]\n"
             "try:\n"
             "    runpy.run_module('cpcm', run_name='__main__')\n"
             "except SystemExit as exc:\n"
             "    code = exc.code\n"
             "print('ruamel' if 'ruamel.yaml' in sys.modules else 'no ruamel', code, file=sys.stderr)\n")
    for args in (["show", case_id], ["list"], ["due"], ["due", "--json"], ["--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], env={**os.environ, **cli.env},
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert done.stderr.strip().splitlines()[-1] in ("no ruamel 0", "no ruamel None"), (args, done.stderr)


PROBE = ("import sys, runpy\n"
         "sys.argv = ['cpcm', *sys.argv[1:]]\n"
         "try:\n"
         "    runpy.run_module('cpcm', run_name='__main__')\n"
         "except SystemExit:\n"
         "    pass\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'ruamel', 'markdown_it'}), file=sys.stderr)\n")


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["--help"], ["due", "--help"], ["team", "add", "--help"], ["team"]])
def test_help_for_a_pipe_is_plain_text_without_rich(args, tmp_env):
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    *shown, imported = (done.stdout + done.stderr).strip().splitlines()  # a group given nothing: its help on stderr
    assert shown[0].startswith("Usage: cpcm") and "Options:" in shown, shown
    assert not set("".join(shown)) & set("╭│╰─"), shown  # no box drawing
    assert imported == "[]", done.stderr


@pytest.mark.e2e
def test_plain_help_keeps_each_example_on_its_own_line(tmp_env):
    """Click rewraps a paragraph into one: two examples would run together (and the second would
    start mid-line, not to be copied)."""
    done = subprocess.run([sys.executable, "-m", "cpcm", "close", "--help"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    examples = [line.strip() for line in done.stdout.splitlines() if "Example:" in line]
    assert len(examples) == 4 and all(line.startswith("Example: cpcm close CP-") for line in examples), done.stdout
    assert examples[0].endswith("--check child_and_family_took_part")
    assert examples[2].endswith("--reason not_eligible --check all   (its initial assessment concluded close_not_eligible)")
    assert examples[3].endswith('--withdraw --reason "asked for by mistake: the family still needs support"')


@pytest.mark.e2e
def test_help_on_a_terminal_is_drawn_with_rich(tmp_env):
    from conftest import on_terminal

    shown, code = on_terminal([sys.executable, "-m", "cpcm", "due", "--help"], dict(os.environ), columns=100)
    assert code == 0 and "cpcm due" in shown.decode() and "╭" in shown.decode()

