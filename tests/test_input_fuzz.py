"""The input gate, driven from the command line: every command that reads input, given every
poison input of tests/fuzz_corpus/ (and large ones generated here), exits 2, 3 or 4 (never 70,
never a crash), writes nothing (git HEAD unchanged, working tree clean), echoes no value, and
leaves every case readable. Hypothesis then throws arbitrary bytes and text at standard input
and at argument values."""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import NOW, Cli, built_once, git_status, head, make_identity, registration, restore_environ

CORPUS = Path(__file__).parent / "fuzz_corpus"
MARK = "Zqxcanary"  # in every corpus input where a value would be; never in a message
CLEAN = {2, 3, 4}


def corpus(*kinds: str) -> list[Path]:
    return sorted(p for kind in kinds for p in (CORPUS / kind).iterdir() if p.is_file())


class World:
    """One casefile repository for the whole module (a refused input writes nothing, so the
    inputs cannot disturb each other): a supervisor, a caseworker, one case."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.cli = Cli(env)
        self.case = ""

    def run(self, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
        """cpcm in this process with `stdin` as raw bytes under a UTF-8 text stream, as a real
        process has it (the conftest runner gives a str only)."""
        from cpcm.cli import main

        out, err = io.StringIO(), io.StringIO()
        saved_env, saved_stdin = dict(os.environ), sys.stdin
        os.environ.update(self.env)
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
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
        return code, out.getvalue(), err.getvalue()

    def head(self) -> str:
        """The commit HEAD names, read from its files (what `git rev-parse HEAD` reads, without
        starting git twice a run); git itself where the branch is not a file of its own."""
        named = (self.root / ".git" / "HEAD").read_text().strip()
        ref = self.root / ".git" / named.removeprefix("ref: ") if named.startswith("ref: ") else None
        if ref is not None and ref.is_file():
            return ref.read_text().strip()
        return head(self.root)

    def refused(self, *args: str, stdin: bytes = b"", codes=CLEAN, secret: str = MARK) -> str:
        before = self.head()
        code, out, err = self.run(*args, stdin=stdin)
        shown = [a if len(a) < 60 else a[:60] + "…" for a in args]
        assert code in codes, (shown, code, err)
        assert "internal error" not in err and "Traceback" not in err, (shown, err)
        assert secret not in err and secret not in out, (shown, err)
        assert self.head() == before, shown
        return err

    def assert_clean(self) -> None:
        """Nothing left in the working tree either (checked once a test, after its runs)."""
        assert git_status(self.root) == []


@pytest.fixture
def world(shared_world):
    yield shared_world
    shared_world.assert_clean()


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory):
    base = tmp_path_factory.mktemp("input-gate")
    (base / "tmp").mkdir()
    env = {"HOME": str(base / "home"), "XDG_CONFIG_HOME": str(base / "home" / ".config"), "TMPDIR": str(base / "tmp"),
           "CPCM_REPO": str(base / "casefiles"), "CPCM_NOW": NOW}
    make_identity(base / "keys" / "sup.txt")
    amina = make_identity(base / "keys" / "amina.txt")
    sup = Cli({**env, "CPCM_IDENTITY": str(base / "keys" / "sup.txt")})
    assert sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor").code == 0
    assert sup("team", "add", "amina", "--role", "caseworker", "--recipient", amina).code == 0
    made = World(base / "casefiles", {**env, "CPCM_IDENTITY": str(base / "keys" / "amina.txt")})
    registered = made.cli("register", "--from-file", "-", "--json", input=json.dumps(registration()))
    assert registered.code == 0, registered.stderr
    made.case = registered.json()["case_id"]
    made.files = base / "inputs"
    made.files.mkdir()
    return made


def from_file_commands(case: str) -> list[tuple[str, ...]]:
    """Every command that takes a record with --from-file."""
    return [("register",), ("assess", case, "--type", "initial"), ("assess", case, "--type", "comprehensive"), ("plan", case),
            ("consent", case), ("followup", case), ("review", case), ("close", case), ("service", "add")]


def _copy(world: World, source: Path, suffix: str) -> Path:
    target = world.files / (source.stem + "." + source.parent.name + suffix)
    target.write_bytes(source.read_bytes())
    return target


def _still_readable(world: World) -> None:
    for args in (("show", world.case), ("list",), ("log", world.case)):
        code, _, err = world.run(*args)
        assert code == 0, (args, err)


# -- the corpus ------------------------------------------------------------------------------
@pytest.mark.parametrize("source", corpus("bytes", "yaml"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus__every_from_file_command_refuses_it(world, source):
    path = _copy(world, source, ".yaml")
    for command in from_file_commands(world.case):
        world.refused(*command, "--no-input", "--from-file", str(path))
    world.refused("register", "--no-input", "--from-file", "-", stdin=source.read_bytes())
    world.refused("followup", world.case, "--no-input", "--from-file", "-", stdin=source.read_bytes())
    world.refused("review", "--batch", str(path))
    world.refused("policy", "check", str(path), codes={2, 4, 7})  # a policy override file: cpcm's own reader


@pytest.mark.parametrize("source", corpus("bytes", "csv"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus__csv_readers_refuse_it(world, source):
    path = _copy(world, source, ".csv")
    world.refused("review", "--batch", str(path))
    world.refused("review", "--batch", str(path), "--dry-run")
    world.refused("service", "import", str(path))


@pytest.mark.parametrize("source", corpus("bytes"), ids=lambda p: p.name)
def test_corpus__bytes_that_are_not_utf8_are_refused_in_every_argument_and_on_stdin(world, source):
    value = source.read_bytes().decode("utf-8", "surrogateescape")  # as Python hands argv over
    case = world.case
    for args in [
        ("note", case, "--text", value), ("note", case, f"--text={value}"),
        ("register", "--no-input", "--name", value), ("register", "--no-input", "--location", value),
        ("followup", case, "--no-input", "--purpose-detail", value), ("followup", case, "--no-input", "--set", f"purpose_detail={value}"),
        ("review", case, "--no-input", "--chair", value), ("review", case, "--no-input", "--decision", "ok", "--decision", value),
        ("close", case, "--summary", value), ("consent", case, "--no-input", "--reason", value),
        ("plan", case, "--no-input", "--reason", value), ("assess", case, "--type", "initial", "--no-input", "--risk-reason", value),
        ("refer", case, "--service", "clinic", "--need", value), ("reopen", case, "--reason", value),
        ("continue", case, "--justification", value), ("assign", case, "--worker", value),
        ("team", "add", value, "--role", "caseworker", "--recipient", "age1x"), ("team", "add", "newone", "--role", "caseworker",
                                                                                "--recipient", "age1x", "--name", value),
        ("service", "add", value, "--provider", value), ("form", "blank", value), ("show", value), ("due", "--worker", value),
        ("register", "--no-input", "--from-file", str(world.files / value)),
    ]:
        err = world.refused(*args, codes={2})
        assert "not valid UTF-8" in err and "offset" in err, (args[0], err)
    err = world.refused("note", case, "--text", "-", stdin=source.read_bytes(), codes={2})
    assert "--text" in err and "offset" in err
    _still_readable(world)


def test_note__a_non_utf8_text_is_refused_and_the_case_stays_readable(world):
    err = world.refused("note", world.case, "--text", "caf\udce9 " + MARK, codes={2})
    assert "--text is not valid UTF-8 text (the byte at offset 3 cannot be read)" in err
    err = world.refused("note", world.case, "--text", "-", stdin=b"caf\xe9 " + MARK.encode(), codes={2})
    assert "offset 3" in err
    _still_readable(world)
    code, _, err = world.run("note", world.case, "--text", "caf\u00e9: the same word, in UTF-8")
    assert code == 0, err  # the gate refuses bytes, not accents
    _still_readable(world)


# -- generated: too large to store ----------------------------------------------------------
def test_generated__deep_nesting_and_billion_laughs_are_refused_quickly(world):
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefghi", "bcdefghij"))
    inputs = {
        "deep-flow": "[" * 100_000 + "x" + "]" * 100_000,
        "deep-block": "- " * 100_000 + "x\n",
        "deep-mapping": "".join(f"{'  ' * i}k:\n" for i in range(200)),
        "laughs": laughs,
    }
    for name, text in inputs.items():
        path = world.files / f"{name}.yaml"
        path.write_text(text)
        for command in (("register",), ("followup", world.case)):
            err = world.refused(*command, "--no-input", "--from-file", str(path), codes={2})
            assert "nest deeper" in err or "more than 200,000 values" in err, (name, err)
        world.refused("review", "--batch", str(path), codes={2})


def test_generated__inputs_over_the_size_limits_are_refused(world):
    big = world.files / "big.yaml"
    big.write_bytes(b"child:\n  name: " + b"x" * (1024 * 1024) + b"\n")
    err = world.refused("register", "--no-input", "--from-file", str(big), codes={2})
    assert "larger than 1 MiB" in err
    err = world.refused("note", world.case, "--text", "-", stdin=b"y" * (1024 * 1024 + 1), codes={2})
    assert "larger than 1 MiB" in err
    cell = world.files / "cell.csv"
    cell.write_text(f"case,chair\n{world.case},{MARK}{'z' * 140_000}\n")
    err = world.refused("review", "--batch", str(cell), codes={2})
    assert "row 2, column 2 (chair)" in err and "longer than 65536 characters" in err
    service = world.files / "service.csv"
    service.write_text(f"id,provider\nclinic,{MARK}{'z' * 140_000}\n")
    err = world.refused("service", "import", str(service), codes={2})
    assert "row 2, column 2 (provider)" in err


def test_arguments__conflicting_field_paths_and_bad_numbers_are_usage_errors(world):
    case = world.case
    for args in [
        ("followup", case, "--no-input", "--set", f"child={MARK}", "--set", "child.name=y"),
        ("review", case, "--no-input", "--set", "chair.name=y", "--set", f"chair={MARK}"),
        ("followup", case, "--no-input", "--set", f"method.detail={MARK}", "--method", "phone"),
        ("plan", case, "--no-input", "--set", f"a..b={MARK}"),
        ("register", "--no-input", "--from-file", str(CORPUS / "yaml" / "value-and-group.yaml")),
    ]:
        err = world.refused(*args, codes={2, 4})
        assert "internal error" not in err
    # a clash of the form's own fields (a follow-up has no `child`: refused by its place first, exit 4)
    conflict = world.refused("register", "--no-input", "--set", f"child={MARK}", "--set", "child.name=y", codes={2})
    assert "child is given a value, so it cannot also hold the field child.name" in conflict
    for within in ("nan", "inf", "-inf", "-1", "1e9"):
        err = world.refused("due", "--within", within, codes={2})
        assert "--within takes a number of days" in err


# -- Hypothesis: arbitrary bytes and text ----------------------------------------------------
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8")),
                      st.lists(st.sampled_from(["child:", "\n", "  ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!binary ", ": ",
                                                "2026-02-30", ".nan", "? ", "\xe9", "name", "'", '"', "#", "|", "\x00"]),
                               max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogateescape"))))
def test_hypothesis__anything_on_stdin_for_from_file(world, data):
    world.refused("register", "--no-input", "--from-file", "-", stdin=data, secret="\x00never")
    world.refused("followup", world.case, "--no-input", "--from-file", "-", stdin=data, secret="\x00never")
    world.assert_clean()


@FUZZ
@given(before=st.binary(max_size=40), bad=st.sampled_from([b"\x80", b"\xc3", b"\xe9", b"\xff", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]),
       after=st.binary(max_size=40))
def test_hypothesis__argument_values_with_a_byte_that_is_not_utf8(world, before, bad, after):
    raw = before + bad + after
    try:
        raw.decode("utf-8")
        assume(False)  # the bytes around made it valid (b"\xc3" + b"\x80" is "À")
    except UnicodeDecodeError:
        pass
    value = raw.decode("utf-8", "surrogateescape")
    for args in (("note", world.case, "--text", value), ("followup", world.case, "--no-input", "--set", f"purpose_detail={value}"),
                 ("register", "--no-input", "--name", value)):
        err = world.refused(*args, codes={2}, secret="\x00never")
        assert "not valid UTF-8" in err
    world.assert_clean()
    code, _, err = world.run("show", world.case)
    assert code == 0, err
