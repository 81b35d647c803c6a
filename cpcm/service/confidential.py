"""A case's strictly confidential section (IAG record keeping [L648]: "a separate section marked
strictly confidential for especially sensitive information that cannot be shared with certain
actors"): write an entry, list and read back those you may read.

Each entry lives in a folder of its own, `confidential/<SC-ID>/`, outside the case's folder, as a
complaint does: its one record is encrypted to the worker who wrote it and the agency's
supervisors and managers, less the workers the writer excluded (its `recipients` file: the writer
first), with the agency's recovery recipients as every folder is (`workflow.confidential.readers`);
while its case is restricted to the managers (cpcm retention --restrict), the managers only.
The case it belongs to is inside the encrypted record only: the folder does not say which case
it is of. Every write is one commit with a fixed message (`confidential add SC-… RECORD`): IDs
only, never the case, what it says or a name.

The library raises `CpcmError`s and returns values; the CLI (cpcm/cli/confidential.py) prints.
The pure rules are `cpcm.workflow.confidential`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from cpcm.domain.ids import WORKER_ID, new_confidential_id, normalise_confidential_id
from cpcm.errors import FieldError, InvalidInput, NotFound, Refused
from cpcm.service import context, folders
from cpcm.service.complaints import text_field
from cpcm.service.results import Written
from cpcm.store.layout import CONFIDENTIAL
from cpcm.workflow import confidential as rules

WHAT = "the strictly confidential entry"
NOT_OVERSEEN = "confidential-no-oversight"  # no supervisor or manager would read it
TEXT_MAX = 4000
JSON_KEYS = ("record_id", "kind", "warnings", "next_steps")
READERS_HINT = ("A strictly confidential entry is read only by the worker who wrote it and the agency's supervisors and "
                "managers it does not exclude; while its case is restricted (cpcm retention), by the managers only.")
FOLDERS = folders.Folders(
    CONFIDENTIAL, rules.fold, "strictly confidential", normalise_confidential_id,
    invalid="the ID given is not a valid strictly confidential entry ID",
    id_hint="Their IDs look like SC-4F7K-9X2N; see cpcm confidential list CASE.",
    missing="strictly confidential entry", listed_by="cpcm confidential list CASE",
    not_reader="you ({worker}) are not among the readers of {id}", readers_hint=READERS_HINT)


def parse_entry_id(text: str) -> str:
    return FOLDERS.parse_id(text)


# -- reading ------------------------------------------------------------------------------------
def show(ctx, entry_id: str) -> rules.Entry:
    """`cpcm confidential show`: an entry you may read, with what it says."""
    return FOLDERS.load(ctx, entry_id)


def for_case(ctx, case_id: str, problems: list | None = None) -> list[rules.Entry]:
    """The entries of `case_id`'s strictly confidential section you may read, by when written;
    none of those you may not read, whose existence is not told (one that cannot be read is
    noted in `problems` when given)."""
    if ctx.worker is None:
        return []
    out = [entry for _eid, _readers, entry in FOLDERS.opened(ctx, problems) if entry.case == case_id]
    return sorted(out, key=lambda e: (e.record_id, e.id))


def list_entries(ctx, case_id: str) -> list[rules.Entry]:
    """`cpcm confidential list CASE`: the case's entries you may read (NotFound: no such case)."""
    ctx.need_worker()
    _check_case(ctx, case_id)
    return for_case(ctx, case_id, ctx.problems)


def _check_case(ctx, case_id: str) -> None:
    if not ctx.store.exists(case_id):
        raise NotFound(f"no case {case_id} in this casefile repository", "See cpcm list for the cases you can read.")


# -- writing ------------------------------------------------------------------------------------
@context.writes
def add(ctx, case_id: str, text: str | None, exclude: Iterable[str] = (), at: datetime | None = None) -> Written:
    """Write an entry in `case_id`'s strictly confidential section (a reader of the case): what it
    says (`text`, encrypted only) and the workers excluded from it (team ids of active workers;
    never the writer).
    Refused, with nothing written, when no supervisor or manager would read it (you count when you
    are one). One commit; bad input changes nothing."""
    me = ctx.need_worker()
    context.check_readable(ctx, case_id)  # NotFound (no such case) or CannotDecrypt (not one of its readers)
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    body_text = text_field(errors, "text", text, TEXT_MAX)
    excluded: list[str] = []
    for value in exclude:
        worker = str(value).strip()
        if not WORKER_ID.match(worker) or ctx.team.get(worker, include_removed=True) is None:
            errors.append(FieldError("exclude", "names no worker of the team (see cpcm team list): a team id, never a name"))
        elif ctx.team.get(worker) is None:
            errors.append(FieldError("exclude", "names a worker removed from the team: they read nothing written now; "
                                                "exclude workers of the team only (see cpcm team list)"))
        elif worker == me.id:
            errors.append(FieldError("exclude", "names you: the worker who writes an entry always reads it; exclude others only"))
        elif worker not in excluded:
            excluded.append(worker)
    if errors:
        raise InvalidInput(errors, WHAT, hint="cpcm confidential add --help gives the options.")
    readers = rules.readers(ctx.team, me.id, excluded, context.case_restricted(ctx, case_id))
    if not rules.overseen(ctx.team, readers):
        raise Refused("no supervisor or manager would read this strictly confidential entry (every one of them is excluded): "
                      "only you would, and it would be lost to the case when you leave; nothing was written",
                      "Exclude fewer workers (a supervisor or manager must read it), or add one (cpcm team add WORKER --role "
                      "manager ...), then write it again.", rule=NOT_OVERSEEN)
    body = {"case_id": case_id, "text": body_text, **({"excluded_workers": excluded} if excluded else {})}
    entry_id, entry = FOLDERS.create(ctx, new_confidential_id, rules.KIND, body, at, readers,
                                     context.recipients_bytes(readers, CONFIDENTIAL), "confidential add")
    return Written(entry_id, entry.id, rules.KIND, (), (f"read it back: cpcm confidential show {entry_id}",),
                   {"entry_id": entry_id, "case_id": case_id, "readers": len(readers)}, json_keys=JSON_KEYS)


# -- the due list ------------------------------------------------------------------------------
def due_items(ctx, whose: str, horizon: datetime, overdue_only: bool, soon) -> list:
    """`confidential-readers` (`rules.readers_item`): each entry you read whose readers are not
    those the team now asks, for `whose` ('all': every one you read) when they may act on it (a
    supervisor or manager who reads it), or whose records are still encrypted to an earlier key of one
    of its readers (its `# rekey:` lines). Only entries you read are looked at, each `recipients`
    read once; an entry's record is read only where that file alone does not show it in line."""
    if ctx.worker is None:
        return []
    kept = folders.due_filter(ctx, whose, horizon, overdue_only, soon)
    out = []
    marks: dict[str, list[str]] = {}  # the entries whose records are still encrypted to an earlier key of a reader
    for eid, current, entry in FOLDERS.opened(ctx, unread=lambda readers: rules.in_line_unread(ctx.team, readers), marks=marks):
        item = rules.readers_item(entry, ctx.team, current, ctx.now, context.case_restricted(ctx, entry.case),
                                  marks.get(eid, ()))
        if item is not None and kept(item, current):
            out.append(item)
    return out


# -- team changes, a restriction and its end --------------------------------------------------------
def entry_readers(ctx, entry: rules.Entry, restricted: bool | None = None) -> list[str]:
    """Who reads `entry` now (`rules.readers`), its case's restriction to the managers taken into
    account: as the case's `recipients` file says (`context.case_restricted`), or `restricted` where
    the caller is changing it in the same commit (cpcm retention --restrict, cpcm assign --worker)."""
    if restricted is None:
        restricted = context.case_restricted(ctx, entry.case)
    return rules.readers(ctx.team, entry.written_by, entry.excluded, restricted)


def reencrypt_all(ctx, tx, damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Bring each entry you read in line with the team (`rules.readers`: a supervisor or manager
    added comes, a worker removed goes, one excluded never comes; the managers only while its case
    is restricted), in the transaction `tx`. Returns the entries re-encrypted, and nothing besides:
    an entry you do not read is never named nor counted to you."""
    return FOLDERS.in_line(ctx, tx, lambda entry: entry_readers(ctx, entry), damaged)


def follow_restriction(ctx, tx, case_id: str, restricted: bool) -> list[str]:
    """The entries of `case_id` you read, re-encrypted in the transaction `tx` to their readers with
    the case restricted to the managers (`restricted`: cpcm retention --restrict) or no longer (an
    assignment to a worker). An entry you do not read (one that excludes you) is left for its
    readers' `cpcm team sync` (`reencrypt_all`), and is never named nor counted to you."""
    return FOLDERS.in_line(ctx, tx, lambda entry: entry_readers(ctx, entry, restricted) if entry.case == case_id else [])
