"""The memory file system a plan opened in an editor lives in (`plan --edit`, cli/assess.py), and
the sweep that wipes what a command killed outright left there. No typer here: every command
that opens a repository runs the sweep (cli/common.py `open_ctx`), the quick ones too."""
from __future__ import annotations

# Where the file the editor opens may be: a memory file system only (tmpfs), as pass and gopass do
# (/dev/shm). cpcm refuses to edit where there is none (docs/security.md, "Editing a plan").
PRIVATE_DIRS = ("/dev/shm",)
FOLDER_PREFIX = "cpcm-"  # then the process id of the command that made it, then random letters


def wipe(folder: str) -> None:
    """Overwrite every file under `folder` (memory pages, not a disk: cheap), then remove it."""
    import os
    import shutil

    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                file_path = os.path.join(root, name)
                size = os.path.getsize(file_path)
                with open(file_path, "r+b") as out:
                    out.write(b"\0" * size)
            except OSError:
                pass
    shutil.rmtree(folder, ignore_errors=True)


def sweep_left_behind() -> int:
    """Wipe the plan folders an edit left in the memory file system when its command was killed
    outright (SIGKILL: nothing runs on the way out), so they do not stay until the computer is
    turned off: a folder of this user whose command (the process id in its name) has ended.
    How many were removed."""
    import os

    removed = 0
    for folder in PRIVATE_DIRS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            pid = entry.name[len(FOLDER_PREFIX):].split("-", 1)[0]
            if not entry.name.startswith(FOLDER_PREFIX) or not pid.isdigit():
                continue
            try:
                if entry.stat(follow_symlinks=False).st_uid != os.getuid() or not entry.is_dir(follow_symlinks=False):
                    continue
                os.kill(int(pid), 0)
                continue  # its command still runs (the editor is open)
            except ProcessLookupError:
                wipe(entry.path)
                removed += 1
            except OSError:  # another user's process, or the folder went meanwhile
                continue
    return removed
