"""Whatever the locale, cpcm prints any text a record holds (a name in Ge'ez script, say): a
file or a pipe gets UTF-8, a terminal that cannot show a character shows '?'. Before, a locale
whose encoding could not write a character (a Latin-1 or ASCII locale; Windows' code page when
output goes to a file) ended the command with 'internal error; nothing was written' after it
had read, or written, what it was asked to."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import on_terminal, register

TEXT = "ሰላም — the family met the social worker"


def ascii_locale(cli) -> dict:
    """cpcm's environment with a locale whose encoding is ASCII (no coercion to UTF-8)."""
    env = {**os.environ, **cli.env, "CPCM_NO_AGENT": "1", "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0",
           "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    return env


def test_a_pipe_gets_utf8_whatever_the_locale(cli):
    case = register(cli)
    assert cli("note", case, "--text", TEXT).code == 0
    for args in (("show", case, "last"), ("show", case, "last", "--json")):
        done = subprocess.run([sys.executable, "-m", "cpcm", *args], env=ascii_locale(cli), capture_output=True,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, (args, done.stderr)
        assert "ሰላም —".encode() in done.stdout, args


def test_a_terminal_that_cannot_show_a_character_shows_a_question_mark(cli):
    case = register(cli)
    assert cli("note", case, "--text", TEXT).code == 0
    latin1 = {**ascii_locale(cli), "PYTHONIOENCODING": "latin-1"}  # a terminal in Latin-1 (click takes ASCII for a mistake)
    screen, code = on_terminal([sys.executable, "-m", "cpcm", "show", case, "last"], latin1)
    assert code == 0, screen
    assert b"??? ? the family met the social worker" in screen
    assert b"internal error" not in screen


def test_json_in_an_encoding_that_cannot_write_a_character_escapes_it(cli):
    """JSON to a stdout whose encoding lacks a character (PYTHONIOENCODING, a terminal's): the
    character as JSON's escape of it, which reads back as the character (it was '?': a script
    reading `list --names --json` lost the name's letters)."""
    import json

    case = register(cli, child={"name": "Zqxcanary Ābẹ́ní", "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    assert cli("note", case, "--text", TEXT + " 𝔸").code == 0  # and a character beyond the first plane
    for encoding in ("ascii", "latin-1", "cp1252"):
        env = {**ascii_locale(cli), "PYTHONIOENCODING": encoding}
        for args, find in ((("show", case, "last", "--json"), lambda out: TEXT + " 𝔸" in json.dumps(out, ensure_ascii=False)),
                           (("list", "--names", "--json"), lambda out: out[0]["name"] == "Zqxcanary Ābẹ́ní"),
                           (("due", "--json"), lambda out: any("§" in item["source"] for item in out))):
            done = subprocess.run([sys.executable, "-m", "cpcm", *args], env=env, capture_output=True, stdin=subprocess.DEVNULL)
            assert done.returncode == 0, (encoding, args, done.stderr)
            assert find(json.loads(done.stdout.decode(encoding))), (encoding, args)
