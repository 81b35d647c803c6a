"""`make test`'s own recipe (Makefile): the tests' temporary folders in memory where /dev/shm has
room, removed when every test passed, kept and named when one failed; pytest's exit code is
`make test`'s. The recipe is run as make would run it (`make -n test` prints it), with pytest
and the plain-install smoke stood in for by small scripts."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTEST = ".venv/bin/python -m pytest"
STAND_IN = """#!/bin/sh
# pytest's stand-in: says where it was told to put its folders, makes one there, exits with $CODE
for arg in "$@"; do case "$arg" in --basetemp=*) base="${arg#--basetemp=}";; esac; done
printf '%s\\n%s\\n' "$TMPDIR" "$base" > "$SAID"
mkdir -p "$base/test_one0" && echo x > "$base/test_one0/file"
exit "$CODE"
"""


def recipe() -> str:
    planned = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = planned.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "plain-install-smoke" in line and "&" in line)
    return "\n".join(lines[start:])


def memory_has_room() -> bool:
    return os.access("/dev/shm", os.W_OK | os.X_OK) and shutil.disk_usage("/dev/shm").free >= 4 << 30


@pytest.mark.skipif(not memory_has_room(), reason="no memory file system with room here: the tests' folders stay in TMPDIR")
@pytest.mark.parametrize("code", [0, 1])
def test_make_test__puts_the_tests_folders_in_memory_and_removes_them_only_when_every_test_passed(tmp_path, code):
    script = recipe()
    assert PYTEST in script and "scripts/plain-install-smoke" in script, script
    stand_in = tmp_path / "pytest"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    script = script.replace(PYTEST, str(stand_in)).replace("scripts/plain-install-smoke", "true")
    (tmp_path / ".venv").mkdir()  # the smoke's log goes there
    said = tmp_path / "said"
    env = {**os.environ, "SAID": str(said), "CODE": str(code)}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == code, done.stderr
    tmpdir, base = said.read_text().splitlines()
    assert Path(tmpdir).parent == Path("/dev/shm") and base == f"{tmpdir}/pytest"
    try:
        if code == 0:
            assert not os.path.exists(tmpdir) and done.stderr == ""
        else:
            assert (Path(base) / "test_one0" / "file").is_file()  # what the failed test left, to look at
            assert f"kept in {tmpdir}" in done.stderr and f"rm -rf {tmpdir}" in done.stderr
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
