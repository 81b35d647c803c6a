"""Where things live in a casefile repository (docs/case-format.md)."""
from __future__ import annotations

import re
from pathlib import Path

CPCM_DIR = ".cpcm"
CONFIG = f"{CPCM_DIR}/config.yaml"
TEAM = f"{CPCM_DIR}/team.yaml"
POLICY = f"{CPCM_DIR}/policy.yaml"
SERVICES = f"{CPCM_DIR}/services.yaml"
LOCK = f"{CPCM_DIR}/lock"
PENDING = f"{CPCM_DIR}/pending.json"
CACHE_DIR = f"{CPCM_DIR}/cache"
CASES = "cases"  # cases/<XX>/<CASE-ID>/: XX the ID's two characters after "CP-" (format 2, below)
CONFERENCES = "conferences"  # conferences/<CC-ID>/: records of a case conference, like a case's
SUPERVISION = "supervision"  # supervision/<SV-ID>/: one supervision session, confidential to who took part
COMPLAINTS = "complaints"  # complaints/<CM-ID>/: one complaint, never readable by a worker it is about
# confidential/<SC-ID>/: one entry of a case's strictly confidential section, read by who wrote it and oversight only
CONFIDENTIAL = "confidential"
TOPS = (CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL)  # the folders of folders of records


def readers_hint(rel: str) -> str:
    """Who reads the record at `rel` (a path in the repository), for a reader it is not encrypted to."""
    if rel.startswith(f"{SUPERVISION}/"):
        return "Only the supervisor who held the session and the workers supervised in it can read it; check --identity."
    if rel.startswith(f"{COMPLAINTS}/"):
        return "Only the agency's supervisors and managers and the worker who recorded the complaint, never a worker it is about, can read it; check --identity."
    if rel.startswith(f"{CONFIDENTIAL}/"):
        return ("Only the worker who wrote the strictly confidential entry and the agency's supervisors and managers it does not "
                "exclude (the managers only while its case is restricted) can read it; check --identity.")
    return "Only the case's worker, supervisors and managers can read it; check --identity."
RECIPIENTS = "recipients"
SUFFIX = ".yaml.age"
TMP_PREFIX = ".tmp-"
# 1: every case folder directly in cases/ (cases/CP-4F7K-9X2N/). 2: in two levels (cases/4F/CP-4F7K-9X2N/): at 100,000
# cases a commit rewrites a tree of 100,000 entries (4 MB) in format 1, two trees of about 100 in format 2
# (docs/performance.md). Only `cases` has two levels: the other folders hold far fewer. store/upgrade.py moves a
# repository of format 1 to 2, and a sync reads the other copy's format-1 paths as format 2 (`current_rel`)
FORMAT_VERSION = 2

RECORD_FILE = re.compile(r"^(?P<id>[0-9A-HJKMNP-TV-Z]{26})\.(?P<kind>[a-z][a-z0-9_-]*)\.yaml\.age$")

GITIGNORE = f"""# cpcm: local state that is never shared
/{LOCK}
/{PENDING}
/{CACHE_DIR}/
{TMP_PREFIX}*
"""

GITATTRIBUTES = """# every file as committed, byte for byte: no line-ending conversion by any git (core.autocrlf in a copy)
* -text
# record files are age ciphertext: never diff or merge them as text
*.age binary -diff
"""


def record_name(record_id: str, kind: str) -> str:
    return f"{record_id}.{kind}{SUFFIX}"


def named_as(file_name: str, folder: str, record) -> bool:
    """Whether a record file's name and the folder it is in are the record's it holds: its ID, its kind, its case (or
    conference, ...). Every check of a commit judges a record by its file's name (who may add an approval, what a
    sync's merge may add itself: store/audit.py), so a file that holds another kind of record is damaged, or forged."""
    return file_name == record_name(record.id, record.kind) and folder == record.case


def holds_own(rel: str, record) -> bool:
    """Whether the record file at `rel` (repository-relative: its folder's last name is the case's, conference's ...
    ID, in every format) holds the record its name says (`named_as`)."""
    folder, _, name = rel.rpartition("/")
    return named_as(name, folder.rpartition("/")[2], record)


def shard(case_id: str) -> str:
    """The folder of cases/ that holds the case `case_id` (format 2): the ID's first two characters after
    "CP-", random as the ID is (1,024 folders)."""
    return case_id[3:5]


def folder_rel(top: str, folder_id: str) -> str:
    """The folder of the case, conference, session, complaint or entry `folder_id` in `top` (one of `TOPS`),
    as a path in the repository: cases/4F/CP-4F7K-9X2N, conferences/CC-..."""
    return f"{top}/{folder_id[3:5]}/{folder_id}" if top == CASES else f"{top}/{folder_id}"


def case_rel(case_id: str) -> str:
    """The folder of the case `case_id`, as a path in the repository (`folder_rel`)."""
    return f"{CASES}/{case_id[3:5]}/{case_id}"


def history_rels(case_id: str) -> list[str]:
    """The paths a case's folder had over its history: format 2's, and format 1's (before the repository's
    upgrade, store/upgrade.py): what a `git log` of the case names, so that a record keeps the commit that
    added it, not the upgrade that moved it."""
    return [case_rel(case_id), f"{CASES}/{case_id}"]


def case_dir(root: Path, case_id: str) -> Path:
    return root / case_rel(case_id)


def folder_dir(root: Path, top: str, folder_id: str) -> Path:
    return root / folder_rel(top, folder_id)


def split_rel(rel: str) -> tuple[str, str, str] | None:
    """(top, folder id, file name) of a path to a file directly in a folder of `TOPS` (a record, a
    `recipients` file): `folder_rel(top, id) + "/" + name`. None for any other path."""
    parts = rel.split("/")
    if parts[0] == CASES:
        if len(parts) == 4 and len(parts[2]) > 4 and parts[1] == parts[2][3:5] and parts[3]:
            return CASES, parts[2], parts[3]
        return None
    if len(parts) == 3 and parts[0] in TOPS and parts[1] and parts[2]:
        return parts[0], parts[1], parts[2]
    return None


def folder_of(rel: str) -> str | None:
    """The folder (`folder_rel`) of a file directly in a folder of `TOPS`; None for any other path."""
    split = split_rel(rel)
    return folder_rel(split[0], split[1]) if split else None


# the name of a case folder as cpcm makes it (domain/ids.py): what format 1 kept directly in cases/
_CASE_FOLDER = re.compile(r"^CP-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def format1_case(name: str) -> bool:
    """Whether `name`, directly in cases/, is a case folder of format 1 (a case ID), to be moved into its second
    level; any other name there (a second-level folder, .keep, a folder a person put there) is left where it is."""
    return _CASE_FOLDER.match(name) is not None


def current_rel(rel: str) -> str:
    """A path of a tree of either format as it is in format 2 (`FORMAT_VERSION`): a format-1 case path
    (cases/CP-4F7K-9X2N/...) gets its second level; every other path is returned as it is."""
    parts = rel.split("/", 2)
    if len(parts) == 3 and parts[0] == CASES and format1_case(parts[1]):
        return f"{CASES}/{parts[1][3:5]}/{parts[1]}/{parts[2]}"
    return rel


_FORMAT_KEY = re.compile(rb"""^["']?format["']?[ \t]*:[ \t]*["']?(?P<value>[0-9]+)""", re.M)


def format_of(config: bytes | None) -> int:
    """The casefile format a `.cpcm/config.yaml` says (its `format:` line; none: 1, as releases before cpcm wrote
    the key); what a commit of either format is told apart by, never the shape of its tree."""
    found = _FORMAT_KEY.search(config or b"")
    return int(found["value"]) if found else 1


def inside(root: Path | None, path: Path) -> bool:
    """Whether `path` (`~` expanded, symbolic links followed) lies in the casefile repository at
    `root` (resolved too): where a file the user asks for is not written."""
    return root is not None and Path(path).expanduser().resolve().is_relative_to(Path(root).resolve())


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds .cpcm/config.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    return None


# a cover in a case's `recipients` file (docs/case-format.md): `# cover: WORKER until TIME`
COVER_LINE = re.compile(r"^#\s*cover:\s*(?P<worker>[a-z0-9][a-z0-9._-]{0,31})\s+until\s+(?P<until>\S+)\s*$")


def covers_from(text: str) -> dict[str, str]:
    """The covers a `recipients` file declares: worker id -> until (ISO text)."""
    out = {}
    for line in (text or "").splitlines():
        match = COVER_LINE.match(line.strip())
        if match:
            out[match["worker"]] = match["until"]
    return out


def cover_lines(covers) -> str:
    """The comment lines of a `recipients` file for `covers` (worker id -> until)."""
    return "".join(f"# cover: {worker} until {until}\n" for worker, until in covers.items())


# a case restricted to the managers once its retention period ended (cpcm retention --restrict, docs/case-format.md):
# its `recipients` file says so, so that every later change of its readers (a team change, a sync) keeps it so
RESTRICTED_LINE = "# restricted: managers only (cpcm retention)"


def readers_from(text: str | bytes | None) -> list[str]:
    """The worker ids a `recipients` file lists (its lines other than comments such as `RESTRICTED_LINE`)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [line.strip() for line in (text or "").splitlines() if line.strip() and not line.startswith("#")]


# a folder (a case, a conference, a supervision session, a complaint, a strictly confidential entry) whose records a key
# change left encrypted to a worker's earlier key (the one who changed it could not read them: cpcm key rotate,
# docs/case-format.md): `# rekey: WORKER`, a worker id only. Its readers are told (cpcm due), and the first of them to
# run cpcm team sync (or a sync's merge) encrypts it to the keys as they are now and takes the line off. Age stanzas do
# not name their recipient: the records themselves cannot say so
REKEY_LINE = re.compile(r"^#\s*rekey:\s*(?P<worker>[a-z0-9][a-z0-9._-]{0,31})\s*$")


def rekey_from(text: str | bytes | None) -> list[str]:
    """The workers a `recipients` file says its records are still encrypted to an earlier key of (`REKEY_LINE`), in order."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    out: list[str] = []
    if not text or "rekey" not in text:  # the file of nearly every folder: read case after case by a fill
        return out
    for line in text.splitlines():
        match = REKEY_LINE.match(line.strip())
        if match and match["worker"] not in out:
            out.append(match["worker"])
    return out


def rekey_lines(workers) -> str:
    """The comment lines of a `recipients` file for `workers` (`REKEY_LINE`)."""
    return "".join(f"# rekey: {worker}\n" for worker in dict.fromkeys(workers))


def with_rekey(text: str | bytes | None, workers) -> bytes:
    """A `recipients` file (`text`) with its `# rekey:` lines (`REKEY_LINE`) those of `workers` (none: taken off), just
    after its first comment line; every other line (its readers, a `# restricted` or `# cover:` line) as it was."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line for line in (text or "").splitlines() if not REKEY_LINE.match(line.strip())]
    at = 1 if lines and lines[0].startswith("#") else 0
    return ("\n".join([*lines[:at], *rekey_lines(workers).splitlines(), *lines[at:]]) + "\n").encode()


def restricted_from(text: str) -> bool:
    """Whether a `recipients` file declares its case restricted to the managers (`RESTRICTED_LINE`)."""
    return any(line.strip() == RESTRICTED_LINE for line in (text or "").splitlines())


def case_restricted(store, case_id: str) -> bool:
    """Whether the `recipients` file of the case `case_id` in `store` (a casefile store: its `read_bytes`
    and `root`) declares it restricted to the managers (`restricted_from`); False where it cannot be read.
    What `cpcm verify`, a team change and every service read of the line; a sync reads it of each copy's
    file with `restricted_from`."""
    try:
        return restricted_from(store.read_bytes(case_dir(store.root, case_id) / RECIPIENTS).decode("utf-8", "replace"))
    except (OSError, KeyError, ValueError):
        return False
