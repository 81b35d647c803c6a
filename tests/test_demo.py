"""`make demo` (scripts/demo), run as a newcomer runs it: it ends well, and none of its warnings
comes from the demo's own order (a step dated before what the case already holds, a second name
for the same remote): a warning a newcomer reads should be about the synthetic cases."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# what the demo's own steps would cause, not the cases it tells of
OWN_ORDER = ("is earlier than the latest record", "syncs with that place too")


def test_demo__runs_to_the_end_without_warnings_of_its_own_order(tmp_env):
    scripts = tmp_env / "demo" / "scripts"
    scripts.mkdir(parents=True)
    for name in ("demo", "demo_children.py"):
        shutil.copy2(ROOT / "scripts" / name, scripts / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_")}  # the real clock, as a newcomer's
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([str(scripts / "demo")], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "The demo casefile repository is" in done.stderr
    said = [line for line in (done.stdout + done.stderr).splitlines() if any(own in line for own in OWN_ORDER)]
    assert said == []
