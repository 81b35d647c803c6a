"""The store contract: what the service layer may ask of a case store, and what every store
promises. Two stores honour it: `casestore.CaseStore` (age-encrypted files in a git
repository, the real one) and `memory.MemoryStore` (the same in memory, for tests of the
service layer). `tests/test_store_contract.py` runs one suite against both.

What a store promises:

- Records are append-only: `write_record` never replaces a record file; only plain files
  (the `recipients` file of a case, `.cpcm/team.yaml` …) are replaced, through `replace_file`.
- A transaction is all or nothing: what it wrote becomes one commit, by the worker who opened
  it, with the message given to `commit`; leaving it without committing (or with an exception)
  leaves no trace.
- A record is readable only with a key of one of the recipients it was written to; any other
  key gets `CannotDecrypt`. `recipients(case)` is the plaintext list of worker ids in the case's
  `recipients` file.
- Inside its own transaction a writer reads what it has written so far; the versions of
  `versions` and the commits of `log` change only with a commit.
- Plain files (`.cpcm/services.yaml` …) read back, with `read_plain`, exactly as written; whether
  a file is there (a conference exists when its `recipients` file does) is `has_file`.

Paths: a record file is named by a `Path` (`record_files`), whose `.name` is the record's
file name (`<record id>.<kind>.yaml.age`) and which `rel` turns into the repository-relative
name used in transactions (`cases/<XX>/<case id>/<file name>`, store/layout.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ContextManager, Iterable, Protocol, Sequence

from cpcm.domain.records import Record
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.store.layout import CASES


class Commit(Protocol):
    """One commit of the store's history."""

    sha: str
    author: str
    email: str
    date: str
    message: str
    files: tuple[str, ...]


class Summaries(Protocol):
    """A cache of folded cases: an entry is used only for exactly the `version` it was made from."""

    def get(self, case_id: str, version: str | None) -> dict[str, Any] | None: ...

    def get_index(self, case_id: str, version: str | None) -> dict[str, Any] | None:
        """The small index entry ({"tree", "index"}) of a case, made from exactly `version`."""
        ...

    def put(self, case_id: str, version: str | None, case: dict | None, index: dict | None = None) -> None: ...

    def put_index(self, case_id: str, version: str | None, index: dict | None) -> None: ...

    def prune(self, case_ids: set[str]) -> None: ...

    def save(self) -> None: ...


class StoreTransaction(Protocol):
    """Writes that become one commit; opened by `Store.transaction` and used as a context
    manager (entering takes the store's write lock; leaving undoes whatever was not committed)."""

    written: list[str]

    def __enter__(self) -> "StoreTransaction": ...

    def __exit__(self, exc_type, exc, tb) -> None: ...

    def write_record(self, record: Record, recipients: Iterable[str], top: str = CASES) -> str:
        """Write one new record, readable by the age `recipients`; never over an existing one.
        Returns its repository-relative name."""
        ...

    def write_records(self, items: Sequence[tuple[Record, Iterable[str]]], top: str = CASES) -> list[str]:
        """`write_record` for each (record, recipients) of a batch, in order (the store may encrypt
        them on every core). Returns their names."""
        ...

    def write_sealed(self, record: Record, sealed: Any, top: str = CASES) -> str:
        """Write one new record as `Store.seal` made it (outside the transaction, in any process);
        never over an existing one. Returns its repository-relative name."""
        ...

    def reencrypt(self, path: Path, keys: Sequence, recipients: Iterable[str]) -> str:
        """Make the existing record at `path` (read with `keys`) readable by `recipients` only,
        unchanged otherwise."""
        ...

    def reencrypt_records(self, paths: Iterable[Path], keys: Sequence, recipients: Iterable[str]) -> list[str]:
        """`reencrypt` of each record at `paths`, all read before any is written: one `keys` do not open
        stops it with nothing written (cipher.NotARecipient, or CannotDecrypt); one damaged (not a whole
        age file: no key opens it) is left as it is. Returns the repository-relative names of those left."""
        ...

    def replace_file(self, rel: str, data: bytes) -> str:
        """Write (or overwrite) a plain file such as a `recipients` file or `.cpcm/team.yaml`."""
        ...

    def delete_file(self, rel: str) -> str: ...

    def commit(self, message: str) -> str:
        """Everything written in this transaction, as one commit; returns its id."""
        ...


class Store(Protocol):
    """Reading a casefile repository's cases (and conferences, with top=CONFERENCES), and writing
    them in transactions."""

    def case_ids(self, top: str = CASES) -> list[str]: ...

    def exists(self, case_id: str) -> bool: ...

    def recipients(self, case_id: str, folder: str = CASES) -> list[str]: ...

    def recipients_lines(self, case_id: str) -> tuple[list[str], bool, list[str]]:
        """The readers of a case's `recipients` file, whether it says the case is restricted to the managers (its
        `# restricted` line, `layout.restricted_from`), and the workers its `# rekey:` lines name, from one read of the
        file."""
        ...

    def recipients_rekey(self, folder_id: str, top: str) -> tuple[list[str], list[str]]:
        """`recipients` of a folder, and the workers its file's `# rekey:` lines name (`layout.rekey_from`: its
        records still encrypted to an earlier key of theirs), from one read of the file."""
        ...

    def record_files(self, case_id: str, top: str = CASES) -> list[Path]: ...

    def read_bytes(self, path: Path) -> bytes:
        """A file's bytes as stored (for a record file: age ciphertext in git; the memory store
        keeps no ciphertext and gives the plaintext)."""
        ...

    def read_file(self, path: Path, keys: Sequence) -> Record: ...

    def read_raw(self, path: Path, keys: Sequence) -> tuple[Record, bytes]: ...

    def read_records(self, case_id: str, keys: Sequence, top: str = CASES) -> list[Record]: ...

    def read_many(self, case_ids: Sequence[str], keys: Sequence, top: str = CASES) -> dict[str, list[Record]]:
        """`read_records` of each case, all from one state; a case that cannot be read is left out
        (`read_records` of it raises why)."""
        ...

    def has_file(self, rel: str) -> bool:
        """Whether the repository holds the file `rel` (repository-relative: a conference's
        `conferences/<CONF-ID>/recipients`, `.cpcm/services.yaml`), as readers see it."""
        ...

    def read_plain(self, rel: str) -> bytes | None:
        """The bytes of a plain shared file (`.cpcm/services.yaml`), by its repository-relative
        name, exactly as written with `replace_file`, as readers see it (the last commit while
        another cpcm writes); None when there is none. A record file is not a plain file:
        ValueError."""
        ...

    def read_committed(self, rel: str) -> bytes | None:
        """The plain file `rel` as the last commit has it (what was in force before a file edited
        by hand is committed); None when the last commit holds none."""
        ...

    def is_committed(self, rel: str) -> bool:
        """Whether the plain file `rel` is as the last commit has it (one put in place or edited
        by hand, outside a commit, is not; nor is one the last commit does not hold)."""
        ...

    def restorable(self, rel: str) -> bool:
        """Whether the last commit holds a copy of `rel` that the working tree's file differs
        from (changed or deleted by hand since): `git checkout HEAD -- rel` brings it back."""
        ...

    def committed(self, rel: str) -> bool:
        """Whether the last commit holds `rel` at all (a file added by hand is not)."""
        ...

    def good_copy(self, rel: str, keys: Sequence) -> str | None:
        """Where the last commit holds the record file `rel` damaged: the newest earlier commit
        holding a copy of it that `keys` read (`git checkout SHA -- rel` brings it back); None when
        there is none."""
        ...

    def settings_edited(self) -> list[str]:
        """`.cpcm/team.yaml` and `.cpcm/config.yaml` when they differ from the last commit."""
        ...

    def line_endings_only(self, rels: Sequence[str]) -> bool:
        """Whether each file of `rels` differs from the last commit only in its line endings (a git that converts them
        wrote it), not by an edit."""
        ...

    def edited_by_hand(self, case_id: str, top: str = CASES) -> list[str]:
        """The record files and `recipients` file of a case that the last commit holds and the
        working tree has deleted or changed since, repository-relative."""
        ...

    def read_records_raw(self, case_id: str, keys: Sequence, top: str = CASES) -> list[tuple[Record, bytes]]: ...

    def rel(self, path: Path) -> str: ...

    def versions(self, top: str = CASES) -> dict[str, str]:
        """Each folder under `top` with a token that changes whenever anything in it changes
        (git's tree id); a folder without one is never served from a summary cache."""
        ...

    def summaries(self, worker: str, recipient: str, keys: Sequence, fingerprint: str) -> Summaries:
        """The summary cache of `worker`; `fingerprint` names the code that folds a case, so a
        cache made by other code is not used."""
        ...

    def prefetch(self, case_ids: Iterable[str], keys: Sequence, progress: Any = None) -> int:
        """Make reading the records of `case_ids` with `keys` cheap (a cold cache filled on
        every core); returns how many files it parsed."""
        ...

    def log(self, paths: Sequence[str] = (), added_only: bool = False, limit: int | None = None) -> list[Commit]:
        """The commits that touched `paths`, newest first (with added_only, those that added files there: a
        merge commit for the files new to each of its parents, those it wrote itself)."""
        ...

    def locked(self) -> ContextManager[None]:
        """Hold the store's write lock across the reads that decide a write and the transaction
        that makes it (a transaction inside reuses it); nested, the outer one holds it."""
        ...

    def generation(self) -> int:
        """A number that moves whenever a write starts or ends."""
        ...

    def transaction(self, verb: str, worker: str, author: str, email: str) -> StoreTransaction: ...

    def seal(self, record: Record, recipients: Iterable[str]) -> Any:
        """`record` made ready for `StoreTransaction.write_sealed`, readable by the age `recipients`
        (the store's file for it: encrypted YAML): the costly part of writing a record, which a
        batch does on every core before its transaction."""
        ...


def read_each(store: Store, case_ids: Sequence[str], keys: Sequence, top: str = CASES) -> dict[str, list[Record]]:
    """`Store.read_many` done case by case with `read_records`."""
    read = {}
    for case_id in case_ids:
        try:
            read[case_id] = store.read_records(case_id, keys, top)
        except (Corrupt, CannotDecrypt):
            pass  # left out: `read_records` of it raises why
    return read
