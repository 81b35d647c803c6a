"""The peer the bench compares cpcm with: `pass` (the standard Unix password manager: one
gpg-encrypted file per entry in a git repository), on a throw-away gpg key and store of the same
number of synthetic entries, made under OUT/peer/N/ once and re-used.

    pass show ENTRY      next to  cpcm show CASE
    pass insert -m NEW   next to  cpcm register (both commit to git)

The entries are the bench's synthetic registrations as JSON; no real person is described.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path


def available() -> bool:
    return shutil.which("pass") is not None and shutil.which("gpg") is not None


MISSING = "the peer is not measured: `pass` or `gpg` is not installed (on Debian: apt-get install pass)"


def env(home: Path) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GNUPG", "PASSWORD_STORE"))}
    base.update(GNUPGHOME=str(home / "gnupg"), PASSWORD_STORE_DIR=str(home / "store"),
                PASSWORD_STORE_GIT=str(home / "store"), GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
                GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    return base


def ensure(size: int, out: Path, synthetic_child) -> tuple[Path, dict]:
    """A pass store of `size` entries (entries e0 ... e{size-1}) with its own gpg key."""
    home = out / "peer" / str(size)
    done = home / "built.json"
    if done.exists():
        return home, env(home)
    shutil.rmtree(home, ignore_errors=True)
    (home / "gnupg").mkdir(parents=True, mode=0o700)
    e = env(home)
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "bench-peer@example.invalid",
                    "default", "default", "never"], env=e, check=True, capture_output=True)
    subprocess.run(["pass", "init", "bench-peer@example.invalid"], env=e, check=True, capture_output=True)
    subprocess.run(["pass", "git", "init"], env=e, check=True, capture_output=True)
    store = home / "store"
    rng = random.Random(f"peer-{size}")
    with tempfile.TemporaryDirectory(dir=home) as tmp:  # synthetic entries only, removed at once
        names = []
        for n in range(size):
            path = Path(tmp) / f"e{n}"
            path.write_text(json.dumps(synthetic_child(rng, date.today())))
            names.append(str(path))
        for start in range(0, len(names), 2000):  # one gpg process per 2,000 files
            subprocess.run(["gpg", "--batch", "--yes", "--quiet", "--trust-model", "always", "-r", "bench-peer@example.invalid",
                            "--encrypt", "--multifile", *names[start:start + 2000]], env=e, check=True, capture_output=True)
        for name in names:
            os.replace(name + ".gpg", store / (Path(name).name + ".gpg"))
    subprocess.run(["git", "add", "-A"], cwd=store, env=e, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", f"{size} entries"], cwd=store, env=e, check=True, capture_output=True)
    subprocess.run(["git", "gc", "-q"], cwd=store, env=e, capture_output=True)  # git commit may have started one already
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=store, env=e, check=True, capture_output=True, text=True).stdout.strip()
    done.write_text(json.dumps({"size": size, "base": base}))
    return home, e


def reset(home: Path, e: dict) -> None:
    store = home / "store"
    base = json.loads((home / "built.json").read_text())["base"]
    subprocess.run(["git", "reset", "-q", "--hard", base], cwd=store, env=e, check=True, capture_output=True)
    subprocess.run(["git", "clean", "-fdq"], cwd=store, env=e, check=True, capture_output=True)
