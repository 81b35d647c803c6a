"""A case's strictly confidential section, pure: an entry as its record stands, and who reads it.

The IAG's record keeping asks for "a separate section marked strictly confidential for especially
sensitive information that cannot be shared with certain actors" [L648]. An entry of it is read by
the worker who wrote it and by every active supervisor and manager of the team, less the workers
the writer excluded from it (never the writer). A caseworker of the case who did not write it does
not read it, whatever the case's readers are: the section is tighter than the case. While the case
is restricted to the managers (cpcm retention --restrict), so are its entries (`readers`). The rule is
that of a complaint's readers (workflow/complaints.py `readers`: who wrote it first, then
oversight, never one named), with the excluded workers as those named. An entry is refused when
no supervisor or manager would read it (`overseen`): a caseworker who excludes every one of them.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from cpcm.domain.records import Record
from cpcm.domain.team import Team
from cpcm.workflow import complaints as complaint_rules
from cpcm.workflow import cover as cover_rules
from cpcm.workflow.deadlines import Deadline

KIND = "confidential"  # the record kind of an entry
DUE_SUBJECT = "confidential"  # the due item's subject, in place of a case ID (the case is never told by it)
READERS_CODE = "confidential-readers"  # an entry whose readers are not those the team now asks
RULE = "confidential"
SOURCE = ("IAG record keeping [L648] (a separate section marked strictly confidential, not shared with certain actors); "
          "who reads it as the team changes is cpcm's choice")


@dataclass(frozen=True)
class Entry:
    """An entry of a case's strictly confidential section."""
    id: str  # its folder's ID (SC-...)
    case: str
    at: str  # when what it records happened (ISO, UTC)
    written_by: str
    text: str
    excluded: tuple[str, ...]  # the workers the writer excluded (team ids): never among its readers
    record_id: str

    def summary_row(self) -> dict:
        """What `confidential list` gives of it: never what it says."""
        return {"entry_id": self.id, "case_id": self.case, "at": self.at, "written_by": self.written_by,
                "excluded": list(self.excluded)}

    def to_dict(self) -> dict:
        return {**self.summary_row(), "text": self.text, "record_id": self.record_id}


def fold(entry_id: str, records: Iterable[Record]) -> Entry:
    """The entry its records make: its first `confidential` record (an entry is never changed)."""
    found = sorted((r for r in records if r.kind == KIND), key=lambda r: r.id)
    if not found:
        raise ValueError(f"{entry_id} holds no strictly confidential entry")
    first = found[0]
    body = first.body
    return Entry(entry_id, str(body.get("case_id") or ""), first.at, first.by, str(body.get("text") or ""),
                 tuple(body.get("excluded_workers") or ()), first.id)


def readers(team: Team, written_by: str, excluded: Iterable[str], restricted: bool = False) -> list[str]:
    """Who reads an entry: who wrote it first, then every active supervisor and manager of the
    team in the team's order, never a worker excluded. While its case is restricted to the
    managers (`restricted`: cpcm retention --restrict, workflow/retention.py) the active managers
    only (who wrote it first when one of them), never a worker excluded; the restriction lifted, the
    rule above again. The agency's recovery keys are added to every record as for every folder.
    An entry that excludes every manager keeps the rule above while its case is restricted: restricted
    to the managers it would be read by nobody (docs/security.md says so).
    Every change of an entry's readers works them out here: a write, a restriction and its end,
    a team change, a sync."""
    if restricted:
        left_out = set(excluded)
        managers = [w for w in cover_rules.managers(team) if w not in left_out]
        if managers:
            return ([written_by] if written_by in managers else []) + [w for w in managers if w != written_by]
    return complaint_rules.readers(team, written_by, excluded)


def readers_item(entry: Entry, team: Team, current: Iterable[str], now: datetime, restricted: bool = False,
                 rekey: Iterable[str] = ()) -> Deadline | None:
    """Where an entry's readers (`current`: its `recipients`) are not those the team now asks
    (`readers`: a supervisor or manager added since by someone who does not read it, a worker
    removed on a copy that could not re-encrypt it), or its records are still encrypted to an earlier
    key of a reader (`rekey`: the `# rekey:` lines of that file, a key change made by someone it
    excludes), an item for the supervisors and managers who read it (those excluded never: they do
    not), due now, naming the entry (never its case): one of them brings it in line with cpcm team
    sync. The complaints' rule (`complaint_rules.readers_lag_item`). `restricted`: its case is
    restricted to the managers (`readers`). None where they are in line."""
    return complaint_rules.readers_lag_item(DUE_SUBJECT, READERS_CODE, f"strictly confidential entry {entry.id}",
                                            readers(team, entry.written_by, entry.excluded, restricted), current, entry.excluded,
                                            RULE, SOURCE, now, rekey)


def in_line_unread(team: Team, current: list[str]) -> bool:
    """Whether an entry's `recipients` (`current`, its writer first while they are on the team) are
    in line with the team without its record read: they are exactly its first reader and every
    active supervisor and manager (so no worker removed reads it, no one is excluded, none is
    missing). Else its record tells (`readers_item`); an excluded worker is never added to them. An
    entry of a case restricted to the managers is never in line by this test: its record tells."""
    return bool(current) and set(current) == set(readers(team, current[0], ()))


def overseen(team: Team, readers_: Iterable[str]) -> bool:
    """Whether a supervisor or manager reads it (the writer counts when they are one): an entry
    that only a caseworker reads has no oversight, and is lost to the case when they leave."""
    return any(complaint_rules.oversees(team.get(r)) for r in readers_)
