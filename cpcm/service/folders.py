"""Folders of their own outside `cases/`: a supervision session (`supervision/<SV-ID>/`), a
complaint (`complaints/<CM-ID>/`), an entry of a case's strictly confidential section
(`confidential/<SC-ID>/`). Each holds its records encrypted to the readers its plaintext
`recipients` file names (worker ids only), with the agency's recovery recipients.

What they share is here, in `Folders`: an ID read from the command line, the folders you read
(from their `recipients` files, nothing decrypted), one opened and folded, a new folder and a
record added to one (each one commit), their readers brought in line with the team; and
`due_filter`, the due list's filter of what falls due of them. Each feature keeps what is its own:
its record kinds, its readers rule and its texts (service/supervision.py, service/complaints.py,
service/confidential.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping

from cpcm.domain.records import Record
from cpcm.errors import CannotDecrypt, Corrupt, NotFound, UsageError
from cpcm.service import context
from cpcm.store.layout import RECIPIENTS, folder_rel


@dataclass(frozen=True)
class Folders:
    """One feature's folders: where they are (`top`), how a folder's records fold (`fold`: a
    ValueError where it holds none of `what`), how an ID is read (`normalise`; `invalid` and
    `id_hint` where it is none), and what a reader is told of one that is not there (`missing`,
    `listed_by`: the command that lists them) or not theirs (`not_reader`, with `{worker}` and
    `{id}`; `readers_hint`: who reads them)."""
    top: str
    fold: Callable[[str, list[Record]], Any]
    what: str
    normalise: Callable[[str], str | None]
    invalid: str
    id_hint: str
    missing: str
    listed_by: str
    not_reader: str
    readers_hint: str

    def parse_id(self, text: str) -> str:
        """The ID `text` as it is written; UsageError where it is none of these folders' IDs."""
        folder_id = self.normalise(text)
        if folder_id is None:
            raise UsageError(self.invalid, self.id_hint)
        return folder_id

    # -- reading --------------------------------------------------------------------------------
    def ids(self, ctx) -> list[str]:
        """Every folder, yours to read or not."""
        return ctx.store.case_ids(self.top)

    def readable(self, ctx, marks: dict[str, list[str]] | None = None) -> list[tuple[str, list[str]]]:
        """The folders whose `recipients` file names you, each with its readers (that file, read
        once): those you may open. Nothing is decrypted. `marks`, when given, gets the workers
        the file of each of them says its records are still encrypted to an earlier key of (its
        `# rekey:` lines: a key change by someone who could not read it), where there are any."""
        me = ctx.need_worker()
        out = []
        for folder_id in self.ids(ctx):
            readers, rekey = ctx.store.recipients_rekey(folder_id, self.top)
            if me.id in readers:
                out.append((folder_id, readers))
                if rekey and marks is not None:
                    marks[folder_id] = rekey
        return out

    def exists(self, ctx, folder_id: str) -> None:
        """NotFound where the repository has no such folder (no `recipients` file); Corrupt where
        that file was deleted by hand (the last commit holds it), as for a case
        (`context.not_there`). Nothing is decrypted."""
        rel = f"{folder_rel(self.top, folder_id)}/{RECIPIENTS}"
        if not ctx.store.has_file(rel):
            raise context.not_there(ctx, rel, NotFound(f"no {self.missing} {folder_id} in this casefile repository",
                                                       f"See {self.listed_by}."))

    def readers(self, ctx, folder_id: str) -> list[str]:
        """The readers of one folder, from its `recipients` file: NotFound where the repository
        has none, CannotDecrypt where you are not among them. Nothing is decrypted."""
        worker = ctx.need_worker()
        self.exists(ctx, folder_id)
        readers = ctx.store.recipients(folder_id, self.top)
        if worker.id not in readers:
            raise CannotDecrypt(self.not_reader.format(worker=worker.id, id=folder_id), self.readers_hint)
        return readers

    def folded(self, ctx, folder_id: str) -> Any:
        """A folder (its readers checked first) read and folded; Corrupt where it holds no record
        of its kind."""
        try:
            return self.fold(folder_id, ctx.store.read_records(folder_id, ctx.keys, self.top))
        except ValueError:
            raise Corrupt(f"{folder_rel(self.top, folder_id)} holds no {self.what} record", folder_rel(self.top, folder_id)) from None

    def load(self, ctx, folder_id: str) -> Any:
        """A folder you read, folded (`readers`, then `folded`). One whose records your key cannot
        open while its `recipients` file says they are still encrypted to an earlier key of yours
        (its `# rekey:` lines: a key change made by someone who could not read it) says so."""
        self.readers(ctx, folder_id)
        try:
            return self.folded(ctx, folder_id)
        except CannotDecrypt as exc:
            if not context.earlier_key(ctx, folder_id, self.top):
                raise
            raise CannotDecrypt(exc.message, context.EARLIER_KEY_HINT, exc.record_file) from None

    def opened(self, ctx, problems: list | None = None, unread: Callable[[list[str]], bool] | None = None,
               marks: dict[str, list[str]] | None = None) -> Iterator[tuple[str, list[str], Any]]:
        """(ID, readers, folded) of each folder you read (`readable`): one that cannot be read is
        left out, and noted in `problems` when given; one whose readers alone say it is not
        wanted (`unread`) is not decrypted, unless its file says its records are still encrypted to
        an earlier key of one of them (`marks`, filled as `readable` fills it)."""
        marks = {} if marks is None else marks
        for folder_id, readers in self.readable(ctx, marks):  # its `recipients` names you: not read again to open it
            if unread is not None and folder_id not in marks and unread(readers):
                continue
            try:
                found = self.folded(ctx, folder_id)
            except (Corrupt, CannotDecrypt) as exc:
                if problems is not None:
                    problems.append(exc)
                continue
            yield folder_id, readers, found

    # -- writing --------------------------------------------------------------------------------
    def create(self, ctx, new_id: Callable[[], str], kind: str, body: Mapping[str, Any], at: datetime | None,
               readers: list[str], recipients: bytes, verb: str) -> tuple[str, Record]:
        """A new folder in one commit: an ID from `new_id` that no folder has, its `recipients`
        file (`recipients`, naming `readers`) and its first record (`kind`, `body`, `at`)
        encrypted to them. The commit message is `verb`, the ID and the record's ID (`complaint
        record CM-… RECORD`: IDs only); the store's verb is `verb` hyphenated. Returns the ID and
        the record."""
        existing = set(self.ids(ctx))
        folder_id = new_id()
        while folder_id in existing:
            folder_id = new_id()
        entry = context.new_record(ctx, kind, folder_id, body, at)
        with context.transaction(ctx, verb.replace(" ", "-")) as tx:
            tx.replace_file(f"{folder_rel(self.top, folder_id)}/{RECIPIENTS}", recipients)
            tx.write_record(entry, context.keys_for(ctx, readers), self.top)
            tx.commit(f"{verb} {folder_id} {entry.id}")
        return folder_id, entry

    def add_record(self, ctx, folder_id: str, kind: str, body: Mapping[str, Any], at: datetime | None, after: str,
                   readers: list[str], verb: str) -> Record:
        """A record added to a folder after the record `after` (a correction, a response), encrypted
        to `readers`, in one commit `verb ID RECORD` (the store's verb: `verb` hyphenated)."""
        entry = context.new_record(ctx, kind, folder_id, body, at, after=after)
        with context.transaction(ctx, verb.replace(" ", "-")) as tx:
            tx.write_record(entry, context.keys_for(ctx, readers), self.top)
            tx.commit(f"{verb} {folder_id} {entry.id}")
        return entry

    def in_line(self, ctx, tx, wanted_of: Callable[[Any], list[str]], damaged: list[dict[str, str]] | None = None) -> list[str]:
        """Bring each folder you read in line with the team, in the transaction `tx`: its readers
        as `wanted_of` has them now for it folded (a supervisor or manager added comes, a worker
        removed goes). Returns the folders re-encrypted, and nothing besides: one you do not read
        is never named nor counted to you. Nothing is done where no one would read it. One whose
        `recipients` file says its records are still encrypted to an earlier key of a reader (its
        `# rekey:` lines: a key change by someone who could not read it) is encrypted again to the
        keys as they are now, and the lines go. Where a record of such a one is damaged (it does not
        decrypt or read as a record) and `damaged` is given (cpcm team sync), its readers are not
        worked out from the rest (what the damaged one said of them is not known): those listed are
        kept, the records that open are encrypted again to their keys as they are now, and the
        damaged ones are left as they are and added to `damaged` (`context.reencrypt`)."""
        from cpcm.crypto import cipher

        done: list[str] = []
        me = ctx.need_worker()
        for folder_id in self.ids(ctx):
            current, rekey = ctx.store.recipients_rekey(folder_id, self.top)
            if me.id not in current:
                continue
            try:
                wanted = wanted_of(self.fold(folder_id, ctx.store.read_records(folder_id, ctx.keys, self.top)))
            except Corrupt:
                if not rekey or damaged is None:
                    continue
                wanted = current  # a damaged record: cpcm verify names it
            except (CannotDecrypt, ValueError):
                continue
            if wanted and (wanted != current or rekey):
                try:
                    left = context.reencrypt(ctx, tx, folder_id, wanted, self.top)
                except (cipher.NotARecipient, CannotDecrypt):
                    continue  # a record not encrypted to your key: nothing of it was written
                if damaged is not None:
                    damaged += context.damaged_left(folder_id, left)
                done.append(folder_id)
        return done


# -- the due list -------------------------------------------------------------------------------
def due_filter(ctx, whose: str, horizon: datetime, overdue_only: bool, soon: timedelta) -> Callable[..., bool]:
    """Whether an item is on `whose` due list ('all': every one), as the due list filters: for
    them (`deadlines.for_worker`: theirs, or one they oversee as a supervisor or manager) and,
    where its folder's `readers` are given, only when they are among them; with `overdue_only` an
    overdue one only, else one due by `horizon`."""
    from cpcm.workflow import approvals
    from cpcm.workflow.deadlines import for_worker

    oversees = approvals.approves(ctx.team.get(whose, include_removed=True) if whose != "all" else None)

    def kept(item, readers: list[str] | None = None) -> bool:
        if whose != "all" and ((readers is not None and whose not in readers) or not for_worker(item, whose, oversees)):
            return False
        if overdue_only:
            return item.state(ctx.now, soon) == "overdue"
        return item.due <= horizon
    return kept
