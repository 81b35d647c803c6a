"""Where the unlock agent's socket lives, and whether that folder may be trusted: one rule for the
agent (cpcm/crypto/agent.py) and for the small client of `cpcm` (cpcm/launch.py), so that both
look in the same place. Imports only os and stat (the client starts small).

The folder, the first that fits:
1. `$XDG_RUNTIME_DIR/cpcm` (a per-user tmpfs on most Linux systems);
2. `$XDG_CACHE_HOME/cpcm/agent`, else `~/.cache/cpcm/agent`: inside the user's own home, where
   no other user can make a folder first (in /tmp anyone can make `/tmp/cpcm-agent-UID` before
   you do, and then `cpcm unlock` has to refuse it);
3. `/tmp/cpcm-agent-UID`, when neither of the above is there or its socket's path would be too
   long for a Unix socket (at most `MAX_PATH` bytes).
Whichever it is, it is trusted only as a folder itself (not a symbolic link), owned by the user,
that no one else may open (mode 700).
"""
from __future__ import annotations

import os
import stat

MAX_PATH = 107  # bytes in a Unix socket's path (sun_path holds 108, with its closing NUL)
SHARED_TMP = "/tmp"  # the last resort: a folder every user may write in


def socket_name(digest: str) -> str:
    """The socket's file name for an identity's digest (its length is what the folder may leave)."""
    return f"agent-{digest}.sock"


NAME_LENGTH = len(socket_name("0" * 20))


def _fits(folder: str) -> bool:
    try:
        return len(os.fsencode(folder)) + 1 + NAME_LENGTH <= MAX_PATH
    except (UnicodeEncodeError, ValueError):
        return False


def folder(environ=os.environ) -> str:
    """The agent's folder for this user (see the module's docstring for the order)."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        candidate = os.path.join(runtime, "cpcm")
        if _fits(candidate):
            return candidate
    cache = environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(cache):  # the XDG rule: a relative value is ignored
        home = environ.get("HOME") or os.path.expanduser("~")
        cache = os.path.join(home, ".cache") if os.path.isabs(home) and os.path.isdir(home) else ""
    if cache:
        candidate = os.path.join(cache, "cpcm", "agent")
        if _fits(candidate):
            return candidate
    return os.path.join(SHARED_TMP, f"cpcm-agent-{os.getuid()}")


def is_private(path: str, make: bool = False) -> bool:
    """Whether the folder is the user's own and private: a folder itself, not a symbolic link (in
    /tmp another user may make the link, and point it elsewhere between this look and a
    connection), owned by the user, mode 700. `make`: make it first (mode 700; in the home, its
    parent folders too) when it is not there."""
    if make:
        try:
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):  # only in the home: $XDG_RUNTIME_DIR and /tmp are there
                os.makedirs(parent, mode=0o700, exist_ok=True)
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
