"""A command's memory holds records' plain text: a crash must not write it to a core file
(docs/security.md, "Memory and swap"). Seen from a git that cpcm starts: it inherits the limit."""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys


def test_a_command_and_the_git_it_starts_write_no_core_file(repo, team, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 30  # what a user's shell may allow
    if wanted == 0:
        raise AssertionError("this machine allows no core file at all: the test cannot tell")
    seen = tmp_path / "limits"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(f"#!/bin/sh\nulimit -c >> {seen}\nexec {shutil.which('git')} \"$@\"\n")
    (fake / "git").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_")}
    env.update(CPCM_REPO=str(repo), CPCM_IDENTITY=str(team["amina"][0]), PATH=f"{fake}:{env['PATH']}")

    def allow_core_files():
        resource.setrlimit(resource.RLIMIT_CORE, (wanted, hard))

    done = subprocess.run([sys.executable, "-m", "cpcm", "verify"], env=env, capture_output=True, text=True,
                          preexec_fn=allow_core_files)
    assert done.returncode == 0, done.stderr
    limits = seen.read_text().split()
    assert limits and set(limits) == {"0"}, limits
