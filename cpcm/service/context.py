"""The session every service function works in: an opened repository (`Context`), and the
small public API the command modules share to read and write records.

- open: `open_repo` (the configuration, the team, the store, the acting worker and their keys);
- read: `check_readable`, `load_records`, `load_case`, `read_case` (with the damaged records a
  repair supersedes), `load_cases` (through the summary cache; a case that cannot be read is left
  out and noted in `ctx.problems`);
- write: `writes` (a service function that writes runs holding the repository lock, on the
  team, configuration and records as they are once it holds it), `transaction` (one commit by
  the acting worker), `new_record`, `append` (check the transition, write one record, commit);
- who reads: `readers_for` (worker ids), `keys_for` (their age recipients, with the agency's
  recovery keys), `recipients_bytes` (the plaintext `recipients` file) and `reencrypt` (a case's
  or a conference's records to new readers);
- forms: `form_for`, `validate_form`; and the caseload warning given when a worker gets a case.

The library raises `CpcmError`s and returns values; it never prints or exits (the CLI does).
"""
from __future__ import annotations

import functools
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence, TypeVar

from cpcm import clock
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.domain.case import Case, case_index
from cpcm.domain.forms import Form, is_empty, validate
from cpcm.domain.ids import RecordIds, normalise_case_id, normalise_conference_id
from cpcm.domain.policy import Policy
from cpcm.domain.records import HEADER, Record, changed_fields, get_path, repaired_away, utc
from cpcm import __version__
from cpcm.domain.team import RECOVERY_READER, Team, Worker
from cpcm.domain.text import ordinal
from cpcm.errors import N_, LINE_ENDINGS_HINT, Busy, CannotDecrypt, Corrupt, CpcmError, FieldError, InvalidInput, NotFound, Refused, UsageError, in_english, restore_hint
from cpcm.store import forms
from cpcm.store.cache import SummaryCache, merge_read, record_shard
from cpcm.store.casestore import CONFERENCES, CaseStore
from cpcm.store.contract import Store
from cpcm.store.config import Config, load_config, load_team
from cpcm.store.faults import crash_point
from cpcm.store.layout import (CASES, FORMAT_VERSION, COMPLAINTS, CONFIDENTIAL, RECIPIENTS, RECORD_FILE, RESTRICTED_LINE, case_dir,
                               case_rel, cover_lines, covers_from, folder_rel, rekey_lines, split_rel)
from cpcm.store.layout import case_restricted as layout_case_restricted
from cpcm.workflow import cover as cover_rules
from cpcm.workflow import retention as retention_rules
from cpcm.workflow import rules, transitions
from cpcm.workflow.fold import effective, fold, settled_conflicts, settling_at, superseded_ids

_record_ids = RecordIds()


@dataclass
class Context:
    """An opened casefile repository and, for commands that read cases or write, the acting
    worker with their identity."""

    root: Path | None  # None for a repository in memory (open_memory)
    config: Config
    team: Team
    store: Store
    now: datetime
    identity: identity_mod.Identity | None = None
    worker: Worker | None = None
    problems: list[CpcmError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # warnings the command prints when it ends (the clock going back)
    # the sync conflicts this command's writes settled (`note_settled`): a `writes` function gives them
    # back among its result's warnings; any left are printed with the notices when the command ends
    settled: list[Settled] = field(default_factory=list)
    # the write generation (store/lock.py) the team, configuration and records read so far are of:
    # a write that starts or ends moves it, so a transaction knows whether they are still current
    basis: int | None = None
    # `now` is the computer's clock, read when the command began (not given, nor $CPCM_NOW): it is
    # read again once the repository lock is held, so that a command that waited for another's
    # write dates its records after that write (`refresh`)
    live_clock: bool = False
    # called as a cold cache is filled (done, total), to draw a progress bar; None: nothing is shown
    progress: Callable[[int, int], None] | None = None
    # what a refused form says to do instead of "correct the fields named above": set by the
    # command line when it could ask no questions and was given no file or --set (cli.common.gather),
    # as its message marked for the catalogs and that message's data, which the terminal says in the
    # repository's language (cli.common.options_named); the JSON keeps it in English (`input_hint`)
    input_hint_said: tuple[str, dict] | None = None
    input_given: frozenset = frozenset()  # the fields the options gave, where `input_hint` is set (`input_hint()`)
    # the questions the command line asked on a terminal (cli.common.gather): what `cli.common.written`
    # asks again, only the fields a refusal names, rather than losing every answer
    asked: Any = None
    # the words of each form's choices and the messages in the repository's language, as read for this
    # command ((form name, language) -> what service/wording.py read): read once for a batch of rows
    wordings: dict = field(default_factory=dict)
    # the views this command read (service/dueview.py `_load`), by their file's identity: a supervisor's `due` reads
    # the due view for their own list and the team's, once
    views: dict = field(default_factory=dict)
    # the option that gives each form field the command maps one to (cli.common.Opt): a refusal names it too
    input_options: dict = field(default_factory=dict)
    options_given: set = field(default_factory=set)  # those of these options the command was given
    options_only: bool = False  # the options were all the command was given (no file, no --set)
    options_all: set = field(default_factory=set)  # those of these options that take 'all' for every word (--explained)

    # `cpcm team recover WORKER`: the agency's recovery key acts as that worker (only there)
    recovering_for: str = ""
    # opened by sync or bundle apply with a key this copy's team has never known (`newcomer`): a
    # worker who copied the repository before a supervisor added them. `worker` stays None until a
    # verified incoming history lists the key (service/sync.py `_newcomer`)
    joining: bool = False
    # the acting worker's earlier keys, which open a file made for them before `cpcm key rotate` replaced them (a
    # transfer bundle, a receipt, a team bundle), for reading it only (`earlier_keys`); None until first needed
    earlier: tuple | None = None
    earlier_unread: int = 0  # the earlier identities kept beside the worker's that could not be opened (`earlier_keys`)
    # asks for the passphrase of another identity of the worker's (an earlier one kept beside theirs), `what` naming
    # it (None: nobody is asked); $CPCM_PASSPHRASE_FILE is tried first
    ask_other: Callable[[str], str | None] | None = None

    _policy: Any = None
    _locked: bool = False  # inside `locked(ctx)`: holding the repository lock, state re-read

    @property
    def input_hint(self) -> str | None:
        """`input_hint_said` in English: what the JSON of a refused form says to do."""
        return None if self.input_hint_said is None else self.input_hint_said[0] % self.input_hint_said[1]

    @property
    def policy(self):
        """The rules in force: the profile named in config with .cpcm/policy.yaml applied."""
        if self._policy is None:
            from cpcm.store import policies  # lazily: most reads never need the rules

            self._policy = policies.in_force(self.root, self.config)
        return self._policy

    def need_worker(self) -> Worker:
        if self.worker is None or self.identity is None:
            raise CannotDecrypt("this command needs your identity", "Give it with --identity or $CPCM_IDENTITY.")
        return self.worker

    @property
    def zone(self):
        """The agency's time zone: every time shown is local to it (the zone of `now`)."""
        return self.now.tzinfo

    @property
    def keys(self):
        return self.identity.keys if self.identity else ()

    def earlier_keys(self) -> tuple:
        """The acting worker's earlier keys (`past_keys`), for a file made for them before `cpcm key rotate` replaced
        them: the one given as the identity (`open_repo(earlier=True)`), else those `cpcm key rotate` kept beside the
        identity (`<name>.old-DATE`) that the team lists as theirs; read once, when a file does not open with the
        current key. One that cannot be opened (a passphrase not given or wrong: it is the one it had before) is left
        out, and `earlier_unread` counts it."""
        if self.earlier is None:
            self.earlier, self.earlier_unread = (), 0
            worker = self.worker
            past = {k.recipient for k in worker.past_keys} if worker and self.identity else set()
            for path in identity_mod.earlier_paths(Path(self.identity.path)) if past else ():
                stamp = path.name.rpartition(identity_mod.EARLIER)[2]
                try:
                    kept = identity_mod.load(path, lambda: self.ask_other and self.ask_other(
                        f"your earlier cpcm identity (kept by cpcm key rotate, {stamp})"))
                except CannotDecrypt:
                    self.earlier_unread += 1
                    continue
                self.earlier += tuple(k for k in kept.keys if str(k.to_public()) in past)
        return self.earlier


def open_repo(root: Path, identity_path: Path | None = None, ask_passphrase: Callable[[], str | None] = lambda: None,
              need_identity: bool = True, now: datetime | None = None, joining: bool = False, earlier: bool = False,
              ask_other: Callable[[str], str | None] | None = None) -> Context:
    """`joining` (sync, bundle apply): an identity whose key the team has never known opens the
    repository with no worker (`Context.joining`) instead of being refused. `earlier` (receive,
    transfer-ack, bundle apply: commands that open a file made for the worker, maybe before their
    key was replaced): an earlier key of a worker given as the identity opens it as that worker, with
    the identity that replaced it (`current_for_earlier`), and reads that file only
    (`Context.earlier_keys`). `ask_other` asks for the passphrase of such another identity."""
    store = CaseStore(root)
    store.open_for_read()  # never waits: rolls back an interrupted write, or reads the last commit during one
    basis = store.generation()  # before anything is read: a write from here on moves it
    config = load_config(root)
    ctx = Context(root=root, config=config, team=load_team(root), store=store, now=agency_now(config, now), basis=basis,
                  live_clock=now is None and not clock.fixed())
    if need_identity:
        ident = identity_mod.load(identity_path or identity_mod.default_path(), ask_passphrase)
        ctx.ask_other = ask_other
        if earlier:
            ident = current_for_earlier(ctx, ident)
        ctx.identity = ident
        ctx.joining = joining and newcomer(ctx.team, ident, ctx.config.recovery_recipients)
        if not ctx.joining:
            ctx.worker = member_of(ctx.team, ident, ctx.config.recovery_recipients)
    if config.format < FORMAT_VERSION and need_identity:
        _upgrade(ctx)
    return ctx


def _upgrade(ctx: Context) -> None:
    """A repository of an earlier casefile format (store/upgrade.py), moved to this one by the worker running
    the command, before anything is read: one commit, said on stderr when the command ends."""
    from cpcm.store import upgrade

    worker = ctx.worker
    if worker is None or worker.id == RECOVERY_READER:
        raise format_old(ctx.config)
    sign_as(ctx)
    done = upgrade.upgrade(ctx.root, ctx.store.git, worker.name, commit_email(ctx.config, worker))
    # opened while another cpcm wrote, the store reads the commit of then (`open_for_read`): of format 1. Read
    # from here on as the upgrade left it, or the commit of a write under way now
    ctx.store.unpin()
    ctx.store.open_for_read()
    ctx.config = load_config(ctx.root)
    ctx.basis = ctx.store.generation()
    if done:  # not when another cpcm upgraded it while this one waited
        ctx.notices.append(f"This repository is now in casefile format {FORMAT_VERSION} (each case folder in cases/ moved "
                           "one level down; one commit, nothing re-encrypted). Upgrade cpcm on every computer of the team "
                           f"to {__version__} or later before its next sync: an older cpcm refuses to read it.")


def format_old(config: Config) -> Refused:
    """What a key that is no worker of the team (the agency's recovery key, a newcomer's) is told in a repository of
    an earlier casefile format (`_upgrade`): nothing is read or written."""
    return Refused(f"this casefile repository is in format {config.format}; this cpcm reads format {FORMAT_VERSION}, and "
                   "moving it there is a commit by a worker of the team",
                   "Run any cpcm command in it with a worker's key first (it moves the case folders, one commit), "
                   "or copy the team's repository again (git clone).", rule="format-old")


def agency_now(config: Config, now: datetime | None = None) -> datetime:
    """`now` (default: the clock, or $CPCM_NOW read in the agency's zone) in the agency's time
    zone (`timezone` in config.yaml). A repository without one keeps the clock's own zone (the
    system's, or the offset $CPCM_NOW gives)."""
    zone = clock.agency_zone(config.timezone) if config.timezone else None
    moment = now or clock.now(zone)
    return moment.astimezone(zone) if zone is not None else moment


def member_of(team: Team, ident: identity_mod.Identity, recovery: Iterable[str] = (), acting_for: str = "") -> Worker:
    """The team member whose key this is; for the agency's recovery key (`init --recovery`), a
    reader who reads every case and writes nothing (`RECOVERY_READER`), or, in `cpcm team
    recover`, the worker it acts for."""
    worker = team.by_recipient(ident.recipients)
    if worker is None and ident.recipients & set(recovery):
        acting = team.get(acting_for) if acting_for else None
        return acting or Worker(id=RECOVERY_READER, name="the agency's recovery key", roles=(), recipient=ident.recipient)
    replaced = next((w for w in team.workers for k in w.past_keys if k.recipient in ident.recipients), None)
    if worker is None and replaced is not None:
        raise CannotDecrypt(f"your key was replaced: it is an earlier key of '{replaced.id}' (cpcm key rotate)",
                            "Use the new identity (cpcm key rotate put it where the old one was: copy it to this computer).")
    removed = next((w for w in team.workers if not w.active and w.recipient in ident.recipients), None)
    if worker is None and removed is not None:  # the advice to be added does not work: a worker id is never used again
        raise CannotDecrypt(
            f"you ({removed.id}) were removed from the team: your key ({ident.recipient[:16]}…) is not a member of this team",
            "A worker id is never used again: to work in the team again, ask a supervisor to add you under a new id. What "
            "you wrote on a copy that had not heard of the removal reaches the team by a bundle made there (cpcm bundle "
            "create FILE) that a supervisor applies. See docs/team.md, 'A worker removed on another copy'.")
    if worker is None:
        raise CannotDecrypt(
            f"your key ({ident.recipient[:16]}…) is not a member of this team",
            "Ask a supervisor to add you: cpcm team add YOUR-ID --role caseworker --recipient "
            f"{ident.recipient} --signing-key KEY, KEY from cpcm key show --signing. Added already on their copy? This copy is older than that: once they have synced, "
            "run cpcm sync here (or cpcm bundle apply FILE of a bundle they made since). " + replace_key_hint(ident.recipient),
        )
    return worker


def current_for_earlier(ctx: Context, ident: identity_mod.Identity) -> identity_mod.Identity:
    """For an identity that is an earlier key of a worker of the team (`cpcm key rotate` replaced it), the identity
    that replaced it, where `cpcm key rotate` put it (`<name>` of the `<name>.old-DATE` it kept), the earlier key kept
    in `ctx.earlier` to open the file the command reads; what the command writes is the current key's. Any other
    identity as it is (`member_of` decides). CannotDecrypt when the current identity is not there."""
    if ctx.team.by_recipient(ident.recipients) is not None:
        return ident
    replaced = next((w for w in ctx.team.active for k in w.past_keys if k.recipient in ident.recipients), None)
    if replaced is None:
        return ident
    place = identity_mod.current_path(Path(ident.path))
    current = None
    if place is not None and place.is_file():
        current = identity_mod.load(place, lambda: ctx.ask_other and ctx.ask_other("your current cpcm identity (the one "
                                                                                     "that replaced the one given)"))
    if current is None or getattr(ctx.team.by_recipient(current.recipients), "id", None) != replaced.id:
        raise CannotDecrypt(f"your key was replaced: it is an earlier key of '{replaced.id}' (cpcm key rotate), and your "
                            "current identity is not where cpcm key rotate put it, beside it",
                            "Give your current identity with --identity: a file made for your earlier key opens with the "
                            "earlier identity cpcm key rotate kept beside it (its name followed by .old-DATE).")
    ctx.earlier = tuple(k for k in ident.keys if str(k.to_public()) in {p.recipient for p in replaced.past_keys})
    return current


def open_for_me(ctx: Context, data: bytes) -> bytes:
    """A file made for the acting worker outside the repository (a transfer bundle, a receipt, a team bundle)
    decrypted with their key, or, made before `cpcm key rotate` replaced it, with an earlier key of theirs
    (`Context.earlier_keys`): docs/commands/keys.md keeps the earlier identity for that. It is read only: what
    the command writes is encrypted and signed as the current key. cipher.NotARecipient when no key of theirs
    opens it; cipher.Damaged as `cipher.decrypt`."""
    try:
        return cipher.decrypt(data, ctx.keys)
    except cipher.NotARecipient:
        earlier = ctx.earlier_keys()
        if not earlier:
            raise
    return cipher.decrypt(data, earlier)


def replace_key_hint(recipient: str) -> str:
    """For a key the team does not know: the worker may be a member already, whose old key went
    with a laptop that died or was stolen. A supervisor replaces that key (a new id would be a new
    worker, with none of their cases): docs/team.md, 'A new laptop'."""
    return ("On the team already, with a key you no longer have (a laptop that died or was lost or stolen)? Ask a "
            f"supervisor to replace it, not to add you: cpcm key rotate --worker YOUR-ID --recipient {recipient} "
            "--signing-key KEY --reason lost (or stolen), then to sync (docs/team.md, 'A new laptop').")


def newcomer(team: Team, ident: identity_mod.Identity, recovery: Iterable[str] = ()) -> bool:
    """Whether `team` has never known this key: no worker's, now or before (removed or replaced),
    nor the agency's recovery key. Such a worker copied the repository before being added: sync
    and bundle apply may take in the history that adds them (service/sync.py `_newcomer`)."""
    keys = ident.recipients
    return not keys & set(recovery) and all(team.key_owner(key) is None for key in keys)


def refresh(ctx: Context) -> None:
    """Read again what decides a write: the configuration, the team (and with it whether the
    acting worker is still a member, and their roles) and the policy; and `now` from the clock,
    when it is the clock's (`live_clock`): a command that waited for the lock while another wrote
    would otherwise date its record before that write, and be told the clock is behind (note_clock).
    Called holding the lock."""
    if ctx.root is not None:  # a repository in memory (open_memory) has them as values
        ctx.config = load_config(ctx.root)
        ctx.team = load_team(ctx.root)
        ctx._policy = None
    if ctx.live_clock:
        ctx.now = agency_now(ctx.config)
    if ctx.identity is not None:
        ctx.joining = ctx.joining and newcomer(ctx.team, ctx.identity, ctx.config.recovery_recipients)
        ctx.worker = None if ctx.joining else member_of(ctx.team, ctx.identity, ctx.config.recovery_recipients,
                                                        ctx.recovering_for)
    ctx.basis = ctx.store.generation()


@contextmanager
def locked(ctx: Context) -> Iterator[Context]:
    """Hold the repository lock, with the team, configuration and policy read again once it is
    held: every read inside (records, recipients, the case list) sees the repository as it is,
    and no other command writes until the block ends. Readers do not wait (they never take the
    lock). Nested blocks share the outer one's lock."""
    if ctx._locked:
        yield ctx
        return
    crash_point("lock-wait")  # the command has read the repository and the clock, and waits for the lock (a pause point for the race tests)
    with ctx.store.locked():
        ctx._locked = True
        try:
            refresh(ctx)
            yield ctx
        finally:
            ctx._locked = False


F = TypeVar("F", bound=Callable[..., Any])


def writes(function: F) -> F:
    """A service function that writes: it runs whole inside `locked(ctx)`, so every check that
    decides the write (readers, consent and its one-off use, caseload, stage, approvals, the
    team) is made on the state the write lands on."""
    @functools.wraps(function)
    def locked_call(ctx: Context, *args, **kwargs):
        start = len(ctx.settled)
        with locked(ctx):
            result = function(ctx, *args, **kwargs)
        return with_settled(ctx, result, start)
    return locked_call  # type: ignore[return-value]


def with_settled(ctx: Context, result: Any, start: int = 0) -> Any:
    """`result` (a `Written`) with the sync conflicts its writes settled (`ctx.settled` from
    `start`) among its warnings, and those taken off `ctx.settled`: the command says them on
    stderr and in its --json output, less those its next steps already say it settles (a
    decision, an assignment, a placement made to settle one: `planning.settles_step`), which the
    result names in `Written.settled` (case ID, code). Another result leaves them for the notices."""
    from cpcm.service.results import Written

    told = ctx.settled[start:]
    if not told or not isinstance(result, Written):
        return result
    del ctx.settled[start:]
    said = set(result.settled)
    new = tuple(s.message for s in told if (s.case_id, s.code) not in said and s.message not in result.warnings)
    return replace(result, warnings=result.warnings + new)


class Settled(NamedTuple):
    """A sync conflict a write settled (`note_settled`), kept in `ctx.settled` for the command to say."""

    case_id: str
    code: str
    message: str  # what to say: printed as a warning, and in the --json output's warnings


# a record's kind in the words of the message saying what it settled (another kind: its name, in words)
_SETTLING_WORDS = {"followup": "follow-up", "plan": "plan version", "reopen": "reopening", "keyworker": "keyworker nomination",
                   "mandatory_report": "mandatory-report decision"}


def note_settled(ctx: Context, case: Case, record: Record) -> None:
    """What a record written to `case` (the case before it) settles of the sync conflicts open in
    it (workflow/fold.py `settled_conflicts`, as the fold will have it): for each, the case, its
    code and records, and what `cpcm check` said of it until now (rules.CONFLICT_PROBLEMS: what
    stands, and what to do where that is wrong), kept in `ctx.settled` for the command to say.
    Nobody settles a conflict without being told."""
    for conflict in settled_conflicts(case, record.kind, record.body, settling_at(record), record.schema):
        ctx.settled.append(_settled(case, conflict, record))


def note_corrected(ctx: Context, before: Case, after: Case, record: Record) -> list[str]:
    """`note_settled` for a correction (`record`, a record superseding another): it stands in the
    place of the record it corrects, so what it settles is what the case folded with it (`after`)
    has settled by it that was open in the case before it (`before`); a placement or an update
    corrected to a later date (`--at`) may settle a conflict about where the child lives, a rating
    added to a follow-up a `risk-concurrent`. Returns what to say of each conflict settled before
    the correction and open again with it (the placement that settled it, corrected to a date
    behind the one that stands): `cpcm check` reports it again."""
    was = {c["record_id"]: c for c in before.conflicts}
    reopened = []
    for conflict in after.conflicts:
        earlier = was.get(conflict["record_id"])
        if earlier is None:
            continue
        if conflict["settled_by"] == record.id and earlier["settled_by"] is None:
            ctx.settled.append(_settled(before, conflict, record))
        elif conflict["settled_by"] is None and earlier["settled_by"] is not None:
            records = ", ".join(conflict.get("records") or ())
            reopened.append(f"with this correction ({record.id}) the sync conflict {conflict['code']} on {after.id} ({records}) "
                            f"is open again: {earlier['settled_by']} settled it until now, and cpcm check reports it again, with "
                            "what to do")
    return reopened


def _settled(case: Case, conflict: Mapping[str, Any], record: Record) -> Settled:
    """What to say of `conflict`, open in `case`, settled by `record` (`note_settled`)."""
    records = ", ".join(conflict.get("records") or ())
    message = rules.conflict_message(case, conflict, values=False)  # a warning: field names and record IDs, no values
    said = f"; until now cpcm check said: {message}" if message else ""
    words = _SETTLING_WORDS.get(record.kind, record.kind.replace("_", " "))
    corrects = f", a correction of {record.body['supersedes']}," if record.body.get("supersedes") else ""
    return Settled(case.id, conflict["code"], f"this {words} ({record.id}){corrects} settles the sync conflict {conflict['code']} "
                   f"on {case.id} ({records}): cpcm check no longer reports it{said}. If what stands is not right, record it "
                   "again as that says")


def commit_email(config: Config, worker: Worker) -> str:
    """The git author address of a worker's commits (no real address: ids only)."""
    return f"{worker.id}@{config.agency_code.lower()}.cpcm.invalid"


@contextmanager
def transaction(ctx: Context, verb: str):
    """A store transaction by the acting worker: files written in it become one commit.

    The checks that decided the write must have been made on the state it lands on. Inside
    `locked(ctx)` (every `writes` function) they were. Outside it, the lock is taken here and the
    write goes ahead only if no write started or ended since this command read the repository
    (the write generation is its `basis`); otherwise Busy (exit 6) and nothing is written."""
    if ctx.need_worker().id == RECOVERY_READER:
        raise Refused("the agency's recovery key reads every case but writes nothing",
                      "Put a manager's key back with cpcm team recover WORKER --recipient age1... --recovery-identity FILE.",
                      rule="recovery-reads-only")
    crash_point("write-begin")  # the checks are made, the write begins (a pause point for the race tests)
    with locked(ctx) if ctx._locked else _still_current(ctx):
        worker = ctx.need_worker()
        edited = ctx.store.settings_edited()
        if edited:  # the team and the recovery keys decide whom a record is encrypted to
            if ctx.store.line_endings_only(edited):
                raise Corrupt(f"{edited[0]} differs from the last commit only in its line endings; nothing was written",
                              edited[0], LINE_ENDINGS_HINT)
            raise Corrupt(f"{edited[0]} differs from the last commit (edited by hand?); nothing was written", edited[0],
                          restore_hint(edited[0], "  (the team changes with cpcm team ..., the settings with cpcm config set)"))
        sign_as(ctx)
        try:
            with ctx.store.transaction(verb, worker.id, worker.name, commit_email(ctx.config, worker)) as tx:
                yield tx
        finally:
            ctx.basis = ctx.store.generation()  # this command's own write: what it read stays current


def sign_as(ctx: Context) -> None:
    """Every commit of this command is signed with the acting worker's key (crypto/signing.py), and
    dated by the command's time where that is $CPCM_NOW's (`clock.commit_date`)."""
    git = getattr(ctx.store, "git", None)
    if git is None:
        return
    git.dated = clock.commit_date(ctx.now)
    if ctx.identity is not None:
        from cpcm.crypto import signing

        git.signer = signing.for_identity(ctx.identity)


@contextmanager
def _still_current(ctx: Context) -> Iterator[Context]:
    with ctx.store.locked():
        if ctx.basis is None or ctx.store.generation() != ctx.basis:
            raise Busy("the casefile repository changed while this command was reading it; nothing was written",
                       "Run the command again.")
        ctx._locked = True
        try:
            refresh(ctx)
            yield ctx
        finally:
            ctx._locked = False


def new_record(ctx: Context, kind: str, case_id: str, body: Mapping[str, Any], at: datetime | None = None,
               schema: int = 1, after: str = "") -> Record:
    worker = ctx.need_worker()
    clash = set(body) & set(HEADER)
    if clash:  # a body key named like a header key would be lost when the record is written
        raise ValueError(f"record body uses reserved keys: {', '.join(sorted(clash))}")
    return Record(
        kind=kind, schema=schema, id=_record_ids.new(int(time.time() * 1000), after=after), case=case_id,
        at=clock.iso(at or ctx.now), recorded_at=clock.iso(ctx.now), by=worker.id, body=dict(body),
    )


def at_errors(ctx: Context, case: Case | None, at: datetime | None, dated: str | None = None) -> list[FieldError]:
    """What is wrong with the time a record is dated at (`--at`) on `case`: in the future, or
    before the case's cycle began (its registration, or its latest reopening), from which every
    deadline counts: a record dated earlier would not count for them. `dated` (a correction's:
    the time of the record it corrects, UTC): the cycle is the one that record belongs to, and the
    new time stays in it, before the reopening that ended it too: a correction moves a record
    within its own cycle, where its deadlines were counted. `at` None: the record is dated now, and
    a clock behind the cycle's start is warned of, not refused (`clock_behind`): a colleague's laptop
    whose clock was ahead registered the case, and a supervisor's assignment or a note must still go."""
    if at is None:
        return []
    if at > ctx.now:  # what the clock reads: a clock that is wrong (a dead clock battery) is seen
        from cpcm.service.wording import say_for

        say = say_for(ctx)
        return [FieldError("at", say(AT_IN_THE_FUTURE) % {"clock": clock_reads(ctx, say)})]
    from cpcm.domain.dates import local_text

    if case is None:
        return []
    start, end = _cycle_of(case, dated)
    if end and at >= datetime.fromisoformat(end):
        return [FieldError("at", f"is after the case was reopened ({local_text(end, ctx.zone)}), and the record belongs to "
                                 f"the time before: give a time before then, or write a new record for the reopened case")]
    if start and at < datetime.fromisoformat(start):
        if start in case.reopenings:
            return [FieldError("at", f"is before the case was reopened ({local_text(start, ctx.zone)}): "
                                     "a record of it is dated then or later")]
        return [FieldError("at", f"is before the case was registered ({local_text(start, ctx.zone)}): a record of it is "
                                 f"dated then or later (if the case began earlier, correct the registration's time first: "
                                 f"cpcm correct {case.id} registration --at WHEN --reason ...)")]
    return []


def _before_cycle(ctx: Context, case: Case) -> str | None:
    """Of a record dated now: where the time now is before the case's cycle began (its registration,
    or its latest reopening), what the warning adds: the record counts for no clock, and what mends it."""
    from cpcm.domain.dates import local_text

    start = case.cycle_start
    if not start or ctx.now >= datetime.fromisoformat(start):
        return None
    what = "reopened" if start in case.reopenings else "registered"
    # no --at helps while the clock is behind: any time from the cycle's start is in the future by it
    first = ("" if what == "reopened" else f"; if the case began earlier, correct the registration's time first "
                                           f"(cpcm correct {case.id} registration --at WHEN --reason ...)")
    return (f"; it is before the case was {what} ({local_text(start, ctx.zone)}), so this record counts for no clock "
            f"(cpcm due still lists what it does){first}")


# Translators: a record's time (--at) after now; %(clock)s is CLOCK_READS or CLOCK_IS below.
AT_IN_THE_FUTURE = N_("is in the future: %(clock)s")
# Translators: what the time now is, where a time is refused against it; %(when)s is a date and time
# (2026-11-23 09:00 +03:00), and $CPCM_NOW the setting that fixes the time now, both kept as they are.
CLOCK_READS = N_("the computer's clock reads %(when)s")
CLOCK_IS = N_("the time now ($CPCM_NOW) is %(when)s")


def clock_reads(ctx: Context, say: Callable[[str], str] = in_english) -> str:
    """What the time now is, in the agency's zone, named by where it comes from: 'the computer's
    clock reads WHEN', or with $CPCM_NOW 'the time now ($CPCM_NOW) is WHEN'. A time refused
    against it says it, so a clock that is wrong is seen (`clock_behind` names it the same way).
    In the language of `say` (`Wording.say`; English by default)."""
    from cpcm.domain.dates import local_text

    return say(CLOCK_IS if clock.fixed() else CLOCK_READS) % {"when": local_text(ctx.now, ctx.zone)}


def clock_named() -> str:
    """Where the time now comes from: $CPCM_NOW, or the computer's clock."""
    return "the time now ($CPCM_NOW)" if clock.fixed() else "the computer's clock"


def _cycle_of(case: Case, dated: str | None) -> tuple[str | None, str | None]:
    """(when the cycle of a record dated `dated` began: the registration or the reopening before
    it; the reopening that ended that cycle, None for the current one), as UTC; `dated` None:
    the current cycle."""
    if dated is None or not case.reopenings:
        return case.cycle_start, None
    moment = datetime.fromisoformat(dated)
    before = [r for r in case.reopenings if datetime.fromisoformat(r) <= moment]
    after = [r for r in case.reopenings if datetime.fromisoformat(r) > moment]
    registered = utc(case.registered_at) if case.registered_at else None
    start = max(before, key=datetime.fromisoformat) if before else registered
    return start, (min(after, key=datetime.fromisoformat) if after else None)


def risk_reason_errors(before: str | None, body: Mapping[str, Any]) -> list[FieldError]:
    """A record that re-rates the risk (an assessment's or a follow-up's `risk`) to a level other
    than `before` (the case's level before it) says why, in `risk_reason`."""
    risk = body.get("risk")
    if risk and before and risk != before and not body.get("risk_reason"):
        return [FieldError("risk_reason", f"is required when the risk level changes (from {before} to {risk})")]
    return []


def check_at(ctx: Context, case: Case | None, at: datetime | None, verb: str) -> None:
    """`at_errors`, raised: nothing is written."""
    errors = at_errors(ctx, case, at)
    if errors:
        raise InvalidInput(errors, verb)


def check_write(ctx: Context, case: Case, verb: str, kind: str, body: Mapping[str, Any], at: datetime | None) -> None:
    """What a record written to `case` must pass (`append`, `append_each`): its time, a cover's, and the
    transition (the stage allows it, and the outcome it records)."""
    check_at(ctx, case, at, verb)
    _check_taken(ctx, case, kind, body)


def _check_taken(ctx: Context, case: Case, kind: str, body: Mapping[str, Any]) -> None:
    """`check_write` less the time: a cover not ended, and the transition (the stage allows it,
    and the outcome it records)."""
    check_cover(ctx, case)
    command = transitions.stage_command(kind, dict(body))
    transitions.advance(case.stage, command, case.id)
    transitions.check_outcome(case, command)


def check_writable(ctx: Context, case_id: str, kind: str, given: Mapping[str, Any] | None = None, at: datetime | None = None,
                   maybe: Sequence[Mapping[str, Any]] = ()) -> Case:
    """The case, once a record of `kind` may be written to it whatever the answers still to come
    (`check_write`: readable, its stage allows it, --at, a cover not ended); NotFound, Refused or
    InvalidInput (--at) otherwise. `given`: the record's fields known so far (the options, --set);
    `maybe`: fields an answer may still give that make it another record (a follow-up on a closed
    case may be a post-closure visit): refused only when it is refused as each, with the refusal of
    `given`. A command that asks questions checks it before the first (`gather`'s `first`, `cpcm
    readiness`), so a refusal that does not depend on the answers comes before anything is typed."""
    case = load_case(ctx, case_id)
    check_step(ctx, case, kind, given, maybe)
    check_at(ctx, case, at, kind)
    return case


def check_step(ctx: Context, case: Case, kind: str, given: Mapping[str, Any] | None = None,
               maybe: Sequence[Mapping[str, Any]] = ()) -> None:
    """Refused where a record of `kind` may not be written to `case` whatever its fields (`check_write`
    less --at: a cover ended, a stage that takes no such record, the outcome the initial assessment
    concluded); `given` and `maybe` as for `check_writable`. A step command checks it before its form
    (`validate_form`), so that a step the case cannot take is refused for that, not first for a field
    that putting right would not make it allowed (--at stays named with the form's fields)."""
    given = dict(given or {})
    try:
        _check_taken(ctx, case, kind, given)
    except Refused:
        for other in maybe:  # tried even where `given` holds the field: a value as typed, not yet read as a choice
            if _answered_otherwise(ctx, kind, given, other):
                continue  # ... but one that reads as another choice already (--purpose routine): no answer changes it
            try:
                _check_taken(ctx, case, kind, {**given, **other})
                return
            except Refused:
                continue
        raise


def _answered_otherwise(ctx: Context, kind: str, given: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether a field of `other` (a record an answer may still make) is given already, as a choice
    of the record's form that reads as another value: then no answer makes that record."""
    from cpcm.domain.forms import answer_code
    from cpcm.service.wording import wording

    form = forms.load(form_for(ctx, kind), ctx.root)
    for key, value in other.items():
        field = form.field(key) if key in given and not is_empty(given[key]) else None
        if field is not None and field.type == "choice":
            code, reason = answer_code(field, given[key], wording(ctx, form))
            if reason is None and code != value:
                return True
    return False


def append(ctx: Context, case: Case, verb: str, kind: str, body: Mapping[str, Any], at: datetime | None,
           schema: int = 1) -> Record:
    """Check the write (`check_write`), then write one record to the case in one commit."""
    check_write(ctx, case, verb, kind, body, at)  # `case` is of the state this write lands on (see transaction)
    with transaction(ctx, verb) as tx:
        note_clock(ctx, case, at)
        readers, ended = end_expired_covers(ctx, tx, case)
        record = new_record(ctx, kind, case.id, body, at, schema, after=case.history[-1].id if case.history else "")
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"{verb} {case.id} {record.id}{ended}")
    note_settled(ctx, case, record)
    return record


def append_each(ctx: Context, writes: Sequence[tuple[Case, Mapping[str, Any]]], verb: str, kind: str,
                at: datetime | None) -> list[Record]:
    """One record in each of several cases (`writes`: each case and its record's body), as `append`
    writes one, all in one commit (`{verb} batch N cases`). Every case is checked first (`check_write`):
    one refused, and nothing is written."""
    for case, body in writes:
        check_write(ctx, case, verb, kind, body, at)
    records, ended = [], ""
    with transaction(ctx, verb) as tx:
        for case, body in writes:
            note_clock(ctx, case, at)
            readers, ended_here = end_expired_covers(ctx, tx, case)
            ended = ended or ended_here
            record = new_record(ctx, kind, case.id, body, at, after=case.history[-1].id if case.history else "")
            tx.write_record(record, keys_for(ctx, readers))
            records.append(record)
        tx.commit(f"{verb} batch {len(records)} cases{ended}")
    for (case, _body), record in zip(writes, records):
        note_settled(ctx, case, record)
    return records


def note_clock(ctx: Context, case: Case, at: datetime | None) -> None:
    """A notice (printed as a warning; the write goes ahead) when the time of a new record, its
    --at or the clock ($CPCM_NOW), is earlier than the case's latest record (`clock_behind`)."""
    notice = clock_behind(ctx, case, at)
    if notice is not None:
        ctx.notices.append(notice)


def clock_behind(ctx: Context, case: Case, at: datetime | None) -> str | None:
    """What `note_clock` says when the time of a new record, its --at or the clock ($CPCM_NOW),
    is earlier than the case's latest record; None when it is not."""
    from cpcm.domain.dates import before_latest, local_text

    moment = at or ctx.now
    times = [e.at for e in case.history] + ([] if at is not None else [e.recorded_at for e in case.history])
    latest = before_latest(moment, times)
    if latest is None:
        return None
    what = "--at" if at is not None else clock_named()
    shown, last = local_text(moment, ctx.zone), local_text(latest, ctx.zone)
    if shown == last:  # within one minute: the seconds tell them apart
        shown, last = local_text(moment, ctx.zone, seconds=True), local_text(latest, ctx.zone, seconds=True)
    return (f"{what} ({shown}) is earlier than the latest record of {case.id} "
            f"({last}); the record is kept in the order written: check the date and time"
            + ((_before_cycle(ctx, case) or "") if at is None else ""))


def clock_said(ctx: Context, after: Callable[[], Case], code: str, within: str, at: datetime | None) -> str:
    """How a next step states the clock a step starts: `within` (the policy's words, 'within 48
    hours (...)'), which counts from now; for a step dated back (`at`, --at), the due time `cpcm due`
    lists for that clock (the deadline `code` of the case as it is after the step, `after()`: the one
    rule, workflow/deadlines.py), as 'was due by WHEN (overdue)' once it has passed, else 'is due by
    WHEN': counted from the time the step is dated, 'within' would promise time that has gone."""
    if at is None:
        return within
    from cpcm.workflow import deadlines

    item = next((i for i in deadlines.deadlines(after(), ctx.policy, ctx.now) if i.code == code), None)
    return within if item is None else due_said(ctx, item.due)


def due_said(ctx: Context, due: datetime) -> str:
    """A clock's due time as a next step says it, for a step dated back (`clock_said`): 'was due by
    WHEN (overdue)' once it has passed, else 'is due by WHEN', in the agency's zone."""
    from cpcm.domain.dates import local_text

    when = local_text(due, ctx.zone)
    return f"was due by {when} (overdue)" if ctx.now > due else f"is due by {when}"


def readers_for(ctx: Context, case: Case | None, assigned: str | None = None) -> list[str]:
    """The worker ids who read a case: its worker (or `assigned`), then supervisors and managers."""
    worker = assigned or (case.worker if case else None)
    return ctx.team.case_readers([worker] if worker else [])


def keys_for(ctx: Context, readers: Iterable[str]) -> list[str]:
    """The age recipients a record for `readers` (worker ids) is encrypted to, with the agency's
    recovery recipients."""
    return ctx.team.recipients_of(readers) + list(ctx.config.recovery_recipients)


def recipients_bytes(readers: Iterable[str], top: str = CASES, covers: Mapping[str, str] | None = None,
                     restricted: bool = False, rekey: Iterable[str] = ()) -> bytes:
    """The plaintext `recipients` file of a case (or, with top=CONFERENCES, of a conference), with
    a comment line for each cover in force (`covers`: worker id -> until); with top=COMPLAINTS,
    of a complaint (service/complaints.py); with top=CONFIDENTIAL, of an entry of a case's strictly
    confidential section (service/confidential.py); each with a `# rekey: WORKER` line for each worker
    `rekey` names (its records still encrypted to an earlier key of theirs: layout.REKEY_LINE)."""
    if top == COMPLAINTS:
        return ("# worker ids who may read this complaint: who recorded it, then the supervisors and managers not named in it\n"
                + rekey_lines(rekey) + "\n".join(readers) + "\n").encode()
    if top == CONFIDENTIAL:
        return ("# worker ids who may read this strictly confidential entry: who wrote it, then the supervisors and managers "
                "it does not exclude\n" + rekey_lines(rekey) + "\n".join(readers) + "\n").encode()
    what = "conference" if top == CONFERENCES else "case"
    return (f"# worker ids who may read this {what} (see .cpcm/team.yaml)\n" + rekey_lines(rekey)
            + (RESTRICTED_LINE + "\n" if restricted else "") + cover_lines(covers or {}) + "\n".join(readers) + "\n").encode()


def reencrypt(ctx: Context, tx, subject_id: str, readers: list[str], top: str = CASES,
              covers: Mapping[str, str] | None = None, restricted: bool = False) -> list[str]:
    """Re-encrypt every record of a case (or a conference, a complaint, an entry) to `readers`, and
    write its new `recipients` file (with the `covers` in force; `restricted`: a case restricted to the
    managers, `case_restricted`), in the transaction `tx`. Every record is read before any is written: one
    your key does not open stops it with nothing written (cipher.NotARecipient, or CannotDecrypt). A damaged
    one (not a whole age file: no key opens it, so nobody can encrypt it again) is left as it is; the names
    of those are returned (`damaged_left`). So is, unnamed, one of a case your key does not open whose very bytes
    a repair supersedes (`read_case`). The file's `# rekey:` lines go (`rekey_kept`)."""
    damaged = reencrypt_records(ctx, tx, subject_id, keys_for(ctx, readers), top)
    tx.replace_file(f"{folder_rel(top, subject_id)}/{RECIPIENTS}",
                    recipients_bytes(readers, top, covers, restricted, rekey_kept(ctx, subject_id, top, damaged)))
    return damaged


def reencrypt_records(ctx: Context, tx, subject_id: str, keys: list[str], top: str = CASES) -> list[str]:
    """Encrypt every record of a folder again to `keys`, in the transaction `tx`, its `recipients` file as it
    is (`reencrypt` writes it; `cpcm key rotate` keeps it). Every record is read before any is written: one your
    key does not open stops it with nothing written (cipher.NotARecipient, or CannotDecrypt), but for one of a
    case whose very bytes a repair supersedes (`repaired_left`), which stays as it is, unnamed. A damaged one
    (not a whole age file: no key opens it) is left as it is; the names of those are returned."""
    paths = ctx.store.record_files(subject_id, top)
    try:
        return tx.reencrypt_records(paths, ctx.keys, keys)
    except (cipher.NotARecipient, CannotDecrypt):
        if top != CASES:
            raise
    # a damaged record a repair supersedes, left on an earlier key (`read_case`): it stays as it is; another your key
    # does not open is CannotDecrypt, nothing written
    left = repaired_left(read_case(ctx, subject_id, strict=False)[0], {path: ctx.store.read_bytes(path) for path in paths})
    return tx.reencrypt_records([path for path in paths if path not in left], ctx.keys, keys)


def repaired_left(records: Iterable[Record], files: Mapping[Any, bytes]) -> set:
    """The record files among `files` (a path or a name in the repository -> its bytes) whose very bytes a
    repair among `records` supersedes (`records.repaired_away`): the one rule of what a re-encryption of a case
    leaves out as it is, a damaged record left on an earlier key of a reader (`reencrypt_records`; a merge's, in
    service/sync.py `_recipients`). Another record file your key does not open is never left out so."""
    repairs = [r for r in records if r.kind == "repair"]
    return {name for name, data in files.items() if repairs and (match := RECORD_FILE.match(str(name).rsplit("/", 1)[-1]))
            and repaired_away(repairs, match["id"], data)}


def rekey_kept(ctx: Context, folder_id: str, top: str, damaged: Iterable[str], changed: str | None = None) -> list[str]:
    """The `# rekey:` lines a folder keeps once every record of it that opens is encrypted to the keys as
    they are now, `damaged` (those that no key opens) left as they are: none, as no one can do more for it
    (cpcm verify names such a record; cpcm repair supersedes one of a case, and the repair is written to its
    readers as they are now); all of them, while one of those differs from the last commit, which holds a copy
    of it: restored from git (`restore_hint`), that copy may be on the earlier key, for the next team sync;
    `changed`: the worker whose key is being changed (`cpcm key rotate`), whose earlier key that copy is on."""
    if not any(ctx.store.restorable(rel) for rel in damaged):
        return []
    lines = ctx.store.recipients_rekey(folder_id, top)[1]
    return list(dict.fromkeys([*lines, changed])) if changed else lines


def damaged_left(folder_id: str, damaged: Iterable[str]) -> list[dict[str, str]]:
    """What a re-encryption says of each damaged record file it left as it is (`reencrypt`): the folder's
    ID and the file's name in the repository, nothing of what it holds."""
    return [{"folder": folder_id, "file": rel} for rel in damaged]


def case_restricted(ctx: Context, case_id: str) -> bool:
    """Whether a case's `recipients` file says a manager restricted it to the managers (cpcm retention --restrict)."""
    return layout_case_restricted(ctx.store, case_id)


def restricted_either(ctx: Context, case: Case) -> bool:
    """Whether the case's records (the fold's one rule, retention_rules.restricted) or its `recipients`
    file's `# restricted` line say it is restricted to the managers. They disagree only after a sync merged
    by a worker who could not read the case (cpcm verify: restriction-mismatch); an assignment to its own
    worker then writes the file as the records have it, and ends a restriction either holds."""
    return retention_rules.restricted(case) or case_restricted(ctx, case.id)


def case_covers(ctx: Context, case_id: str) -> dict[str, str]:
    """The covers a case's `recipients` file declares (worker id -> until), in force or not."""
    try:
        text = ctx.store.read_bytes(case_dir(ctx.store.root, case_id) / RECIPIENTS).decode("utf-8", "replace")
    except (OSError, KeyError, ValueError):
        return {}
    return covers_from(text)


COVER_ENDED = "(cover ended)"  # the end of a commit message whose write also took an ended cover off the case


def end_expired_covers(ctx: Context, tx, case: Case) -> tuple[list[str], str]:
    """Take a cover whose time has passed off the case's readers (re-encrypting the case in
    `tx`). Returns the case's readers after it, and what the commit message ends with: ''
    or ' (cover ended)', so that `cpcm verify` knows the commit re-encrypted the case. Called
    by every write to a case through `append`."""
    current = ctx.store.recipients(case.id)
    covers = case_covers(ctx, case.id)
    if not covers:
        return current, ""
    if cover_rules.in_force(covers, ctx.now) == covers:
        return current, ""
    worker = case.worker or next(iter(current), None)
    wanted, kept = cover_rules.access(ctx.team, worker, covers, ctx.now)
    reencrypt(ctx, tx, case.id, wanted, covers=kept)
    return wanted, f" {COVER_ENDED}"


def check_cover(ctx: Context, case: Case) -> None:
    """Refused when the acting worker reads the case only through a cover whose time has passed."""
    me = ctx.need_worker()
    covers = case_covers(ctx, case.id)
    if me.id in covers and not cover_rules.covering(covers, me.id, ctx.now) and me.id != case.worker \
            and not me.has_role("supervisor", "manager"):
        raise Refused(f"your cover of {case.id} has ended", f"Ask {case.worker or 'its worker'} or a supervisor to extend it: "
                      f"cpcm assign {case.id} --cover {me.id} --until DATE", rule="cover-ended")


def not_there(ctx: Context, rel: str, missing: NotFound) -> CpcmError:
    """What to raise for a folder (a case's, a conference's, …) with no `recipients` file `rel`:
    Corrupt (exit 7, naming the file and its restore) where the last commit holds one, since the
    folder is there and its readers file was deleted by hand; else `missing` (exit 3)."""
    if ctx.store.restorable(rel):
        return Corrupt(f"{rel} is missing: it differs from the last commit (deleted by hand?)", rel, restore_hint(rel))
    return missing


def check_readable(ctx: Context, case_id: str) -> None:
    """NotFound when there is no such case; CannotDecrypt when you are not one of its readers."""
    worker = ctx.need_worker()
    if not ctx.store.exists(case_id):
        raise not_there(ctx, f"{case_rel(case_id)}/{RECIPIENTS}",
                        NotFound(f"no case {case_id} in this casefile repository", "See cpcm list for the cases you can read."))
    if worker.id not in ctx.store.recipients(case_id) and worker.id != RECOVERY_READER:
        if case_restricted(ctx, case_id):  # what its `recipients` file says to anyone with a copy
            raise CannotDecrypt(f"you ({worker.id}) are not a recipient of {case_id}",
                                "A manager restricted it to the managers once its retention period ended (cpcm retention); "
                                "ask a manager.")
        raise CannotDecrypt(f"you ({worker.id}) are not a recipient of {case_id}",
                            "Only the case's worker, supervisors and managers read it; ask a supervisor to assign it to you.")


# what a folder you read but cannot open says where its `recipients` file's `# rekey:` lines name you (a key change of
# yours made by someone who could not read it): a case's, a complaint's, a conference's, a session's, an entry's
EARLIER_KEY_HINT = ("Its records are still encrypted to your earlier key (your key was replaced by someone who could not "
                    "read it): another of its readers (a supervisor or manager who reads it; a manager, for a case restricted to "
                    "the managers; the one who held it, for a supervision session) gives it to your new key with cpcm team "
                    "sync; it is on their cpcm due.")


def earlier_key(ctx: Context, folder_id: str, top: str = CASES) -> bool:
    """Whether the folder's `recipients` file says its records are still encrypted to an earlier key of yours (its
    `# rekey:` lines name you): what a CannotDecrypt of it then says (`EARLIER_KEY_HINT`)."""
    try:
        return ctx.worker is not None and ctx.worker.id in ctx.store.recipients_rekey(folder_id, top)[1]
    except (OSError, KeyError, ValueError):
        return False


def load_records(ctx: Context, case_id: str) -> list[Record]:
    """A case's records (a damaged record that a repair supersedes is left out); Corrupt when a
    record cannot be read and nothing supersedes it; CannotDecrypt, saying so, when its records are
    still encrypted to an earlier key of yours (`earlier_key`)."""
    check_readable(ctx, case_id)
    try:
        records = read_case(ctx, case_id)[0]
    except CannotDecrypt as exc:
        if not earlier_key(ctx, case_id):
            raise
        raise CannotDecrypt(exc.message, EARLIER_KEY_HINT, exc.record_file) from None
    check_on_disk(ctx, case_id)
    return records


def check_on_disk(ctx: Context, case_id: str, deleted_only: bool = False) -> None:
    """Corrupt when a record file or the `recipients` file of the case that the last commit holds
    was deleted or changed on disk since (`deleted_only`: deleted): the case is not read as it is."""
    edited = ctx.store.edited_by_hand(case_id)
    if deleted_only:
        edited = [rel for rel in edited if not ctx.store.has_file(rel)]
    if edited:
        rel = edited[0]
        if ctx.store.line_endings_only(edited):
            raise Corrupt(f"{rel} differs from the last commit only in its line endings: the case is not read as it is",
                          rel, LINE_ENDINGS_HINT)
        raise Corrupt(f"{rel} differs from the last commit (deleted or changed by hand?): the case is not read as it is",
                      rel, restore_hint(rel))


def read_case(ctx: Context, case_id: str, strict: bool = True) -> tuple[list[Record], dict[str, Corrupt]]:
    """The records of a case you can read, and its damaged ones (record id -> why, from the
    file name: the record itself cannot be read). `strict`: Corrupt for a damaged record that no
    record supersedes (`cpcm repair`); otherwise every damaged record is returned. A record file your
    key does not open is CannotDecrypt, but where a repair supersedes those very bytes
    (`records.repaired_away`: a damaged record left on an earlier key when its case was encrypted again
    to a new one), which is left out as a damaged one it supersedes is."""
    try:
        return ctx.store.read_records(case_id, ctx.keys), {}
    except (Corrupt, CannotDecrypt):
        pass  # one file or more is damaged, or not yours to open: read them one by one
    records, damaged, unopened = [], {}, []
    for path in ctx.store.record_files(case_id):
        try:
            records.append(ctx.store.read_file(path, ctx.keys))
        except Corrupt as exc:
            match = RECORD_FILE.match(path.name)
            damaged[match["id"] if match else path.name] = exc
        except CannotDecrypt as exc:
            unopened.append((path, exc))
    for path, exc in unopened:
        match = RECORD_FILE.match(path.name)
        if not (match and repaired_away(records, match["id"], ctx.store.read_bytes(path))):
            raise _not_yet_yours(ctx, case_id, exc)
    if strict:
        superseded = superseded_ids(records)
        for record_id, exc in damaged.items():
            if record_id not in superseded:
                raise Corrupt(exc.message, exc.path, damaged_hint(ctx, case_id, record_id, exc.path))
        damaged = {k: v for k, v in damaged.items() if k in superseded}
    return records, damaged


# what puts right a record of a case you read that your key does not open (written to your earlier key, or to the
# case's readers of before on a copy that had not heard of the change: a leaver's bundle applied, say): one who reads
# it encrypts it to your key; the bundle's or sync's warning says the same (cli/sync.py, not_reencrypted)
NOT_YET_YOURS_FIX = ("a colleague who reads it encrypts it to your key at their next cpcm sync (or a supervisor with cpcm "
                     "team sync); then sync again")


def reads_case(ctx: Context, case_id: str) -> bool:
    """Whether the acting worker is one of the case's readers (its `recipients` file lists them): a record of it
    their key does not open then keeps from them a case of theirs (`_not_yet_yours`), not one they never read."""
    try:
        return ctx.worker is not None and ctx.worker.id in ctx.store.recipients(case_id)
    except Exception:  # noqa: BLE001 - no readers' list to tell by
        return False


def _not_yet_yours(ctx: Context, case_id: str, exc: CannotDecrypt) -> CannotDecrypt:
    """A record of a case the acting worker reads (its `recipients` list them) that their key does not
    open: written to their earlier key (before `cpcm key rotate`) or to the readers of before, on a copy
    that had not heard of the change. Said so, naming the case, that the whole case is left out of their
    list and due until then, and who puts it right (docs/team.md, "Readers after a merge", "Keys that
    change"), where the store's hint said only who reads such a case."""
    if not reads_case(ctx, case_id):
        return exc
    return CannotDecrypt(exc.message, f"You read {case_id}, but this record was written to your earlier key (before cpcm "
                         "key rotate) or to its readers of before, on a copy that had not heard of the change (a leaver's "
                         "bundle, say): until it is encrypted to your key, the whole case, with its deadlines, is left out of "
                         f"your cpcm list, due and check: {NOT_YET_YOURS_FIX} (docs/team.md, 'Readers after a merge', "
                         "'Keys that change')", exc.record_file)


def damaged_hint(ctx: Context, case_id: str, record_id: str, rel: str | None) -> str:
    """What puts right a damaged record of a case that no record supersedes (docs/exit-codes.md §1): a
    file damaged on disk since the last commit is restored from it; one the last commit holds as
    damaged, where an earlier commit holds a good copy (`store.good_copy`), by undoing the commit
    that damaged it while it is this copy's latest and never synced (a restore committed with git
    would not be signed, and no sync would push it: own-commits-unverified), else `cpcm repair`;
    with no good copy, `cpcm repair`."""
    repair = f"cpcm repair {case_id} {record_id} --reason TEXT (the file stays in git; the case reads without it)"
    if rel and ctx.store.restorable(rel):  # damaged on disk after its commit
        return restore_hint(rel, "  (it differs from the last commit)")
    if rel and not ctx.store.committed(rel):  # put in the folder by hand, never committed
        return (f"The last commit does not hold it (added by hand?): move it out of the case folder; if it is a record "
                f"that belongs here, {repair}")
    good = ctx.store.good_copy(rel, ctx.keys) if rel else None
    if good:
        return (f"The last commit holds it damaged; commit {good[:10]} holds a good copy. If the commit that damaged it is "
                f"this copy's latest, was never synced and changed this file alone (git show --stat HEAD), undo it: "
                f"git reset --soft HEAD~1, then git checkout HEAD -- {rel}. Otherwise: {repair}; what commit {good[:10]} "
                f"held can be recorded again")
    return f"Git holds no good copy of it (it was committed damaged): {repair}"


def record_table(ctx: Context):
    """From here on, the store reads the records it decrypts with `ctx.keys` through the worker's
    record table (by blob id: a record read before needs no decryption and no YAML). For a
    command that reads many cases one by one (a batch); `save()` the returned cache after."""
    worker = ctx.need_worker()
    return ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())


def folded_or_noted(ctx: Context, case_id: str) -> Case | None:
    """A case folded from its records; None when one of them is damaged or not readable by you,
    which is noted in `ctx.problems` (a listing goes on with the other cases)."""
    try:
        return fold(case_id, read_case(ctx, case_id)[0])
    except (Corrupt, CannotDecrypt) as exc:
        ctx.problems.append(exc)
        return None


def load_case(ctx: Context, case_id: str) -> Case:
    return fold(case_id, load_records(ctx, case_id))


def load_cases(ctx: Context, on_disk: bool = False) -> dict[str, Case]:
    """Every case the worker can read, folded; through the summary cache. A case whose files
    were changed, truncated or deleted on disk since the last commit is read as the last commit
    holds it (`CaseStore.read_as_committed`), as `list`, `due` and the reports describe the last
    commit (docs/security.md, "what list, due and the reports read"); a case damaged in the
    commit itself is left out and noted in `ctx.problems`, so the others still list. `on_disk`
    (`cpcm check`): the files on disk are read, and a case whose committed files were deleted or
    changed since is left out and noted too, as `check_on_disk` names it (a record deleted by
    hand leaves a case that reads, without it)."""
    if on_disk:
        return _load_cases(ctx, index_only=False, on_disk=True)
    return load_cases_counted(ctx)[0]


def load_cases_counted(ctx: Context) -> tuple[dict[str, Case], int]:
    """`load_cases`, and the number of case folders they come from (those of the last commit,
    one deleted on disk since included): what a report says it covers."""
    return _as_committed(ctx, index_only=False)


def load_index(ctx: Context) -> dict[str, Case]:
    """Every case the worker can read, with only the fields of `case_index` (what the duplicate
    and caseload checks read), from the cache's small index: a write does not load every folded
    case. A case changed on disk since the last commit is read as the commit holds it, as in
    `load_cases` (warm cache or cold, a duplicate or a caseload is counted the same); one damaged
    in the commit itself is left out and noted in `ctx.problems`."""
    return _as_committed(ctx, index_only=True)[0]


def each_indexed(ctx: Context, each: Callable[[str, Case], None]) -> None:
    """`load_index` a case at a time: `each(case_id, case)` for every case the worker can read, with only the fields
    of `case_index`, none kept here, and the index table read a segment at a time (`cache.newest_entries`): what a
    split index is made again from (service/lookup.py), where holding every case and the whole table took 350 MB
    at 100,000 cases. The cases come in no set order."""
    _as_committed(ctx, index_only=True, each=each)


def _as_committed(ctx: Context, index_only: bool, each: Callable[[str, Case], None] | None = None
                  ) -> tuple[dict[str, Case], int]:
    """`_load_cases` with the case folders changed on disk since the last commit read from it,
    and the number of case folders of the last commit (one deleted on disk since included)."""
    cache = ctx.store.summaries(ctx.need_worker().id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    if not isinstance(cache, SummaryCache):  # a repository in memory: no working tree to differ from the commit
        return _load_cases(ctx, index_only=index_only, each=each), len(ctx.store.case_ids())
    with ctx.store.read_as_committed(cache.dirty):
        return _load_cases(ctx, index_only=index_only, cache=cache, each=each), len(ctx.store.case_ids())


PREFETCH_FROM = 200  # cases missing from the cache before their records are read on every core


def _load_cases(ctx: Context, index_only: bool, on_disk: bool = False, cache=None,
                each: Callable[[str, Case], None] | None = None) -> dict[str, Case]:
    """Every case the worker reads, folded (or with only the fields of `case_index`), as
    `load_cases` describes them; held for the rest of the command out of the cyclic collector's
    sight (`memo.held_long`). With `each` (and `index_only`), each case is given to it instead
    (`each_indexed`): none is kept, nothing is returned."""
    from cpcm.store import memo

    ids = ctx.store.case_ids()
    with memo.held_long(len(ids) >= memo.HELD_FROM and each is None):
        return _loaded_cases(ctx, index_only, ids, on_disk, cache, each)


def _loaded_cases(ctx: Context, index_only: bool, ids: list[str], on_disk: bool = False, cache=None,
                  each: Callable[[str, Case], None] | None = None) -> dict[str, Case]:
    from cpcm.service import tables

    worker = ctx.need_worker()
    trees = ctx.store.versions(CASES)
    if cache is None:
        cache = ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    cases: dict[str, Case] = {}
    keep = cases.__setitem__ if each is None else each
    served = _streamed_index(cache, trees, set(ids), keep) if index_only and each is not None else None
    missing: list[str] = []
    for case_id in ids:
        if served is not None and case_id in served:
            continue
        tree = trees.get(case_id)
        if index_only and served is None:
            entry = cache.get_index(case_id, tree)
            if entry is not None:
                if entry["index"] is not None:
                    keep(case_id, Case.from_dict(entry["index"]))
                continue
        entry = cache.get(case_id, tree)
        if entry is not None:
            if entry["case"] is not None:
                case = Case.from_dict(entry["case"])
                keep(case_id, case)
                cache.put_index(case_id, tree, case_index(case))
            else:
                cache.put_index(case_id, tree, None)
            continue
        missing.append(case_id)
    for case_id, case in _missing_read(ctx, cache, trees, missing, index_only):
        keep(case_id, case)
    if on_disk:
        _check_changed(ctx, getattr(cache, "dirty", set()) & {*ids, *trees}, cases)  # a case folder deleted by hand too
    cache.prune(set(ids))
    try:
        cache.save()
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    tables.save(ctx)
    return {case_id: cases[case_id] for case_id in ids if case_id in cases}  # in the order of the case ids


def left_out_changed_on_disk(ctx: Context) -> set[str]:
    """The cases whose committed files were deleted or changed on disk since the last commit (a
    whole case folder deleted too), each noted in `ctx.problems` as `check_on_disk` names it
    (the file and the restore): for what reads the files as they are over many cases (`export`,
    a write) and leaves such a case out, so that it says so rather than come out one case short."""
    if ctx.root is None or not isinstance(ctx.store, CaseStore):
        return set()
    from cpcm.store.cache import dirty_cases

    left: set[str] = set()
    for case_id in sorted(dirty_cases(ctx.root)):
        try:
            check_on_disk(ctx, case_id)
        except Corrupt as exc:
            ctx.problems.append(exc)
            left.add(case_id)
    return left


def _check_changed(ctx: Context, changed: set[str], cases: dict[str, Case]) -> None:
    """`check_on_disk` of each case of `changed` (its committed files differ on disk) not noted
    yet: one that stops is left out of `cases` and noted in `ctx.problems`."""
    noted = {split[1] for exc in ctx.problems if (split := split_rel(getattr(exc, "path", None) or "")) and split[0] == CASES}
    for case_id in sorted(changed - noted):
        try:
            check_on_disk(ctx, case_id)
        except Corrupt as exc:
            ctx.problems.append(exc)
            cases.pop(case_id, None)


def _missing_read(ctx: Context, cache, trees: dict[str, str], missing: list[str], index_only: bool,
                  append: bool = False) -> Iterator[tuple[str, Case]]:
    """(case id, folded case) of each readable case of `missing` (none in the cache for its tree), read from its
    files and stored in the cache for the next command, with its rows for due and statistics (service/tables.py):
    from `PREFETCH_FROM` of them a cold fill on every core (`_fill_cases`), else one by one. `append`: stored
    without reading the cache's tables (`SummaryCache.append`), for a command that reads them a segment at a time
    (the rows of a few cases, which only a command that read the rows' tables stores, are not made)."""
    from cpcm.service import tables

    if len(missing) >= PREFETCH_FROM and isinstance(cache, SummaryCache):
        yield from _fill_cases(ctx, cache, trees, missing, index_only)
        return
    worker = ctx.need_worker()
    put = cache.append if append else cache.put
    # the rows of a few cases are stored only in a table the command read (`tables.save`): one that appends reads none
    rows = (lambda *a: None) if append else functools.partial(tables.put, ctx, cache)
    for case_id in missing:
        tree = trees.get(case_id)
        if worker.id not in ctx.store.recipients(case_id) and worker.id != RECOVERY_READER:
            put(case_id, tree, None, None)
            rows(case_id, tree, None)
            continue
        case = folded_or_noted(ctx, case_id)
        if case is None:
            continue
        put(case_id, tree, case.to_dict(), case_index(case))
        rows(case_id, tree, case)
        yield case_id, case


def _fill_cases(ctx: Context, cache: SummaryCache, trees: dict[str, str], missing: list[str],
                index_only: bool = False) -> Iterator[tuple[str, Case]]:
    """A cold fill of the cases missing from the cache (service/fill.py: on every core, every
    table written as the cases come): (case id, folded case) of each readable one, with `index_only` only
    the fields of `case_index` (what a write's duplicate and caseload checks read: a `register`
    right after an upgrade at 100,000 cases held every folded case, 940 MB)."""
    from cpcm.service import fill

    for item in fill.fill(ctx, cache, trees, missing):
        for table in (cache.summary, cache.index):
            table.entries.pop(item.case_id, None)  # the fill wrote newer entries: a merge must not put these back
        if item.values is not None:
            yield item.case_id, Case.from_dict(fill.value(item, fill.INDEX)) if index_only else item.case


def _streamed_index(cache, trees: dict[str, str], ids: set[str], keep: Callable[[str, Case], None]) -> set[str] | None:
    """The cases of `ids` whose index entry describes their tree of the last commit (`_served`), each readable one
    given to `keep` with only its index fields: the case ids served so (one the worker cannot read among them).
    None where the cache is not on disk (a repository in memory): the caller reads it as a whole."""
    if not isinstance(cache, SummaryCache):
        return None
    served: set[str] = set()
    for case_id, index in _served(cache.index, "index", trees, ids):
        served.add(case_id)
        if index is not None:
            keep(case_id, Case.from_dict(index))
    return served


def _served(table, key: str, trees: dict[str, str], ids: set[str], passed_over: set[str] = frozenset()
            ) -> Iterator[tuple[str, dict | None]]:
    """(case id, the entry's `key`: None when the worker does not read the case) of each case of `ids` but those
    of `passed_over` whose entry in `table` describes its tree of the last commit, read a segment and an entry at a
    time (`cache.newest_entries`): memory is one segment's text, not the table. A table of an earlier version's
    code (an upgrade), of which nothing was served, is removed, so that the fill's new entries are not read beside
    it again."""
    from cpcm.store.cache import newest_entries

    served = False
    for case_id, entry in newest_entries(table):
        tree = trees.get(case_id)
        if case_id not in ids or case_id in passed_over or tree is None or not isinstance(entry, dict) \
                or entry.get("tree") != tree:
            continue
        served = True
        yield case_id, entry.get(key)
    if table.stale and not served:
        table.drop_stale()


class CaseStream:
    """`load_cases_counted` a case at a time, for a report that reads every case once and keeps only what it
    counts of each: iterate it once; the cases come in no set order. `read`: the cases given so far; `total`, once
    it is read: the case folders of the last commit (one deleted on disk since included). The summary table is read
    a segment and an entry at a time (`_served`), and the cases it does not describe (written since, or never read)
    are read from their files and appended to it (`SummaryCache.append`): what is held is one segment's text and one
    case, where `load_cases` holds every folded case (about 1.1 GB at 100,000 cases). A case changed on disk since the last
    commit is read as the commit holds it, as `load_cases` reads it; with `on_disk` (`cpcm check`), as
    `load_cases(on_disk=True)` reads it: from the files on disk, and left out, noted in `ctx.problems`, when its
    committed files were deleted or changed since (`_check_changed`: such cases are given last, once checked)."""

    def __init__(self, ctx: Context, on_disk: bool = False):
        self.ctx = ctx
        self.on_disk = on_disk
        self.read = 0
        self.total = 0
        self._left: list[tuple[str, Exception]] = []
        self._dirty: set[str] | None = None  # the cases read as committed (changed on disk since), once read

    def __iter__(self) -> Iterator[Case]:
        for case in self._cases():
            self.read += 1
            yield case
        self._note_left()

    def left_out(self, case_id: str, exc: Exception) -> None:
        """A case given that its reader could not read further (a record of it damaged): noted in `ctx.problems`
        once every case was given, by case ID, after the cases not read at all, whatever order they came in."""
        self._left.append((case_id, exc))

    def _note_left(self) -> None:
        self.ctx.problems.extend(exc for _, exc in sorted(self._left, key=lambda left: left[0]))
        self._left.clear()

    def read_each(self, case_ids: Iterable[str]) -> Iterator[tuple[str, list[Record]]]:
        """Once the cases were given: the records of those of `case_ids` that a report reads further (`read_case`),
        read as the cases were (a case changed on disk since the last commit, as the commit holds it), in the order of
        the record table's shards, holding one shard at a time (`RecordCache.one_shard`: reading 1,000 cases of
        100,000 loaded 249 of the 256 shards, 101,000 records, and held them). A case whose records cannot be read
        is left out, noted as `left_out` notes it."""
        ctx = self.ctx
        with ctx.store.read_as_committed(self._dirty) if self._dirty else nullcontext():
            for case_id in by_record_shard(ctx, case_ids):
                try:
                    found = read_case(ctx, case_id)[0]
                except (Corrupt, CannotDecrypt) as exc:
                    self.left_out(case_id, exc)
                    continue
                yield case_id, found
        self._note_left()

    def _cases(self) -> Iterator[Case]:
        from cpcm.service import tables

        ctx = self.ctx
        cache = ctx.store.summaries(ctx.need_worker().id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
        if not isinstance(cache, SummaryCache):  # a repository in memory: nothing on disk to read a piece at a time
            cases, self.total = (load_cases(ctx, on_disk=True), len(ctx.store.case_ids())) if self.on_disk \
                else load_cases_counted(ctx)
            yield from cases.values()
            return
        if not self.on_disk:
            self._dirty = cache.dirty
        with nullcontext() if self.on_disk else ctx.store.read_as_committed(cache.dirty):
            ids = ctx.store.case_ids()
            self.total = len(ids)
            trees = ctx.store.versions(CASES)
            dirty = cache.dirty
            served: set[str] = set()
            for case_id, case in _served(cache.summary, "case", trees, set(ids), dirty):
                served.add(case_id)
                if case is not None:
                    yield Case.from_dict(case)
            changed: dict[str, Case] = {}  # on disk: the cases whose files differ from the commit, given once checked
            for case_id, case in _missing_read(ctx, cache, trees, [c for c in ids if c not in served], False, append=True):
                if self.on_disk and case_id in dirty:
                    changed[case_id] = case
                else:
                    yield case
            if self.on_disk:
                _check_changed(ctx, dirty & {*ids, *trees}, changed)  # a case folder deleted by hand too
                yield from changed.values()
        try:
            cache.save()
            present = set(ids)
            for table in (cache.summary, cache.index):  # what was appended, merged once it is many segments
                merge_read(table, present.__contains__)
        except OSError:
            pass  # a read never fails because the local cache cannot be written
        tables.save(ctx)


def by_record_shard(ctx: Context, case_ids: Iterable[str]) -> Iterator[str]:
    """`case_ids` in the order of the record table's shards, the table holding one shard at a time while they are gone
    through (`RecordCache.one_shard`): for a reader of many cases' records (a report, the service gaps), which in case-ID
    order loads nearly every shard and holds them (the whole table, every record of every case read). The records
    decrypted meanwhile (a cold table) are kept for next time."""
    records = getattr(ctx.store, "record_cache", None)
    with records.one_shard() if records is not None else nullcontext():
        yield from sorted(case_ids, key=lambda c: (record_shard(c), c))
    if records is not None and records.changed:
        try:
            records.save()
        except OSError:
            pass  # a read never fails because the local cache cannot be written


def parse_case_id(text: str, place: int = 0) -> str:
    """`place`: where it stands among several case IDs given (1 for the first), for a command that takes several: the
    refusal names it, and says that a word after them that is not an option is read as one."""
    case_id = normalise_case_id(text)
    which = f"the {ordinal(place)} case ID given" if place else "the case ID given"
    if case_id is None and normalise_conference_id(text) is not None:
        raise UsageError(f"{which} is a conference ID, not a case ID" if place else "that is a conference ID, not a case ID",
                         "A conference is read with cpcm conference show CONF (its cases with cpcm show CASE).")
    if case_id is None:
        raise UsageError(f"{which} is not a valid case ID (it is not echoed here, in case it was something else)",
                         "Case IDs look like CP-4F7K-9X2N; the last character is a check character that catches typing slips."
                         + (" Every word after the case IDs that is not an option is read as one more: check the command "
                            "for a word left over (such as the '...' of a hint)." if place > 1 else ""))
    return case_id


def unnamed_keys(count: int, what: str, fields: Sequence[str]) -> FieldError:
    """The keys given that are no field of `what` (a note, a referral update), counted, never
    repeated (a key typed may hold personal details), with the fields it has."""
    return FieldError("…", f"{'is not a field' if count == 1 else f'{count} keys are not fields'} of {what} (not shown, as a key "
                           f"may hold personal details; its fields: {', '.join(fields)})")


ASSESSMENT_FORMS = {"initial": "assessment-initial", "comprehensive": "assessment-comprehensive",
                    "best_interests": "best-interests"}


def form_for(ctx: Context, kind: str) -> str:
    """The form definition the policy names for a record (the Kenya profile adds the
    reintegration readiness benchmarks to the comprehensive assessment, say)."""
    return str(ctx.policy.get("forms", kind) or ASSESSMENT_FORMS.get(kind) or kind)


def decided_changes(ctx: Context, kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The fields a supervisor's decision of a `kind` request (a plan version, a closure request)
    stands on (its form's `decided` marks) that differ between the request as it was (`before`) and
    as a correction makes it (`after`). An agency's own form that marks none keeps cpcm's marks."""
    name = form_for(ctx, kind)
    decided = forms.load(name, ctx.root).decided
    if not decided and (forms.HERE / f"{name}.yaml").is_file():
        decided = forms.load(name).decided
    return [key for key in decided if not _same_items(get_path(before, key), get_path(after, key))]


def _same_items(before: Any, after: Any) -> bool:
    """Whether a decided field holds the same after a correction: a plan's goals and actions
    compared without the IDs the correction gives those written before IDs were stored."""
    if before == after:
        return True
    if isinstance(before, list) and isinstance(after, list) \
            and any(isinstance(item, Mapping) and "id" not in item for item in before):
        def bare(items: list) -> list:
            return [{k: v for k, v in item.items() if k != "id"} if isinstance(item, Mapping) else item for item in items]
        return bare(before) == bare(after)
    return False


def form_problems(ctx: Context, form_name: str | Form, data: Mapping[str, Any],
                  kept: Mapping[str, Any] | None = None) -> tuple[dict, list[FieldError]]:
    """The record body `data` makes under the form (by name, or loaded once by a caller that
    validates many rows) and every problem of it: the caller adds its own checks and raises.
    `kept`: the record a correction corrects, whose workers stand (`workers_taken`)."""
    from cpcm.service.wording import wording

    form = forms.load(form_name, ctx.root) if isinstance(form_name, str) else form_name
    return validate(form, data, ctx.now.date(), workers_taken(ctx, form, kept), wording(ctx, form))


def input_hint(ctx: Context, errors: Sequence[FieldError]) -> str | None:
    """How a form's fields are given (`ctx.input_hint`: only the options were given, and no questions
    asked), for a refusal that names a field the options did not give (one missing); none where
    each field it names is one an option gave (`ctx.input_given`), a value wrong: the fix is that
    value, not a file of the form's fields."""
    if ctx.input_hint and any(e.field not in ctx.input_given for e in errors):
        return ctx.input_hint
    return None


def workers_taken(ctx: Context, form: Form | None, kept: Mapping[str, Any] | None = None, keys: Sequence[str] = ()) -> list[str]:
    """The worker IDs a form's worker fields (or the fields `keys`, of a record written without a
    form) take: the team's members, and those `kept` (a record as written: a registration an
    update lays changes over, an original a correction corrects) names in them, who may since have
    left the team or be of the agency the case was transferred from: what was written stands, a
    new value is a member. A list's entries count too (a supervision session's `actions[].owner`):
    the worker each entry as written names (`kept_in_lists` tells a new entry from a kept one)."""
    fields = [f.key for f in form.fields if f.type == "worker"] if form is not None else list(keys)
    named = [get_path(kept, key) for key in fields] if kept else []
    named += [owner for owners in kept_in_lists(form, kept).values() for owner in owners]
    return [w.id for w in ctx.team.active] + [v for v in named if isinstance(v, str) and v]


def kept_in_lists(form: Form | None, kept: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The workers the entries of `kept`'s lists name in their worker fields, per field as
    `LIST[].FIELD` (`actions[].owner`: one per entry that names one, in order): what a correction
    keeps of who was named, one who has left the team since too (`workers_taken`)."""
    found: dict[str, list[str]] = {}
    for field in form.fields if form is not None and kept else ():
        entries = kept.get(field.key) if field.type == "list" else None
        for item in (field.item if isinstance(entries, list) else ()):
            if item.type == "worker":
                found[f"{field.key}[].{item.key}"] = [str(e[item.key]) for e in entries
                                                      if isinstance(e, Mapping) and isinstance(e.get(item.key), str) and e[item.key]]
    return found


def validate_form(ctx: Context, form_name: str | Form, data: Mapping[str, Any], what: str,
                  also: Sequence[FieldError] = (), then: Callable[[dict], list[FieldError]] | None = None) -> dict:
    """The record body `data` makes under the form, or InvalidInput naming every bad field,
    together with `also` (what the caller found wrong beside the form, such as `at_errors`) and
    what `then(body)`, the caller's own checks of the body, finds: they run on the fields the form
    found good even when it found others bad, so that one refusal names every bad field, not one
    after another (a field the form named already is not named again)."""
    body, errors = form_problems(ctx, form_name, data)
    named = {e.field for e in errors}
    more = [e for e in then(body) if e.field not in named] if then is not None else []
    if errors or also or more:
        raise InvalidInput([*errors, *also, *more], what, hint=input_hint(ctx, errors))
    return body


@dataclass(frozen=True)
class AssignCheck:
    """What `assignment_checks` found against making a worker a case's assigned worker: its `rule`
    (already-assigned, cadre-over-max, caseload-over-cap), whether the policy refuses it (else it is a
    warning), what it says and what to do instead."""

    rule: str
    refuse: bool
    message: str
    hint: str = ""


ALREADY_ASSIGNED = "already-assigned"
CADRE_OVER_MAX = "cadre-over-max"
CASELOAD_OVER_CAP = "caseload-over-cap"
CADRE_HINT = ("Assign the case to a professional or an officer (cpcm team list shows each worker's cadre), or rate its risk "
              "again first if it has fallen; a supervisor changes a cadre with cpcm team cadre.")
CASELOAD_HINT = "Assign the case to another worker, or close or transfer cases first."


def assignment_checks(ctx: Context, case_id: str, worker_id: str | None, case: Case | None = None, risk: str | None = None,
                      cases: Mapping[str, Case] | None = None, count: int | None = None,
                      caseload: bool = True) -> tuple[list[str], list[AssignCheck]]:
    """The one set of checks of every way a worker is made a case's assigned worker (`cpcm assign`, its
    `--batch` and `--from-worker`, `register`, `receive`, `import cases`), before anything is written:
    (the sync conflicts the assignment confirms, what stands against it). `case`: the case as it is
    (None for one not yet here: `risk` is then its risk). Against it, in this order:
    - already-assigned: `case` is assigned to the worker already, unless the assignment confirms the one
      that stands after a sync (`two-assignments`), or the case was restricted to the managers (cpcm
      retention, as its records or its `recipients` file say: `restricted_either`) and reopened: it is given
      back to a worker, its own one too; nothing else is checked then;
    - cadre-over-max: an open case whose risk is above what the worker's cadre may hold (`rules.cadre_verdict`);
    - caseload-over-cap: the worker near or over the cap with one more case (`rules.caseload_verdict`), unless
      `caseload` is False (the caller counts it), the assignment confirms one, or the case is theirs already (a
      restricted case given back: it is counted among their open cases); their open cases are
      `count` when given, else counted in `cases`, else from the split index of a write, else `load_index`.
    Each path refuses or warns of them its own way (`refuse_or_warn` raises the first refusal)."""
    if not worker_id:
        return [], []
    from cpcm.workflow.fold import settled_by

    confirms = settled_by(case, "assignment") if case is not None and case.worker == worker_id else []
    if case is not None and case.worker == worker_id and not confirms and not restricted_either(ctx, case):
        return [], [AssignCheck(rule=ALREADY_ASSIGNED, refuse=True, message=f"{case_id} is already assigned to '{worker_id}'")]
    checks = []
    if case is None or case.status == "open":
        verdict, message = rules.cadre_verdict(ctx.team.get(worker_id), case.risk if case is not None else risk,
                                               ctx.policy, case_id)
        if verdict != "ok":
            checks.append(AssignCheck(rule=CADRE_OVER_MAX, refuse=verdict == "refuse", message=f"cadre: {message}", hint=CADRE_HINT))
    if caseload and not confirms and not (case is not None and case.worker == worker_id):  # nor does a case theirs already
        if count is None and cases is None:
            from cpcm.service import lookup

            if lookup.usable(ctx):
                count = lookup.caseload(lookup.current(ctx), worker_id)
        if count is None:
            count = rules.caseloads((load_index(ctx) if cases is None else cases).values()).get(worker_id, 0)
        verdict, message = rules.caseload_verdict(ctx.team.get(worker_id), count, ctx.policy)
        if verdict != "ok":
            checks.append(AssignCheck(rule=CASELOAD_OVER_CAP, refuse=verdict == "refuse", message=f"caseload: {worker_id}: {message}",
                                      hint=CASELOAD_HINT))
    return confirms, checks


def refuse_or_warn(checks: Sequence[AssignCheck]) -> list[str]:
    """`assignment_checks`' findings for one assignment: Refused with the first that the policy refuses,
    else their warnings (a case above the cadre is to be escalated to a professional)."""
    for check in checks:
        if check.refuse:
            raise Refused(check.message, check.hint or None, rule=check.rule)
    return [f"{check.message}: escalate it to a professional" if check.rule == CADRE_OVER_MAX else check.message
            for check in checks]


def new_case_checks(checks: Sequence[AssignCheck], case_id: str, named: bool) -> list[str]:
    """A new case's `assignment_checks` (registered, received from another agency, imported): a worker named
    for it is refused (or warned of) where their cadre may not hold its risk, as `assign` refuses one; the
    worker who records it holds it and is never refused on their cadre (the child is recorded here), the case
    to be escalated at once. The caseload as `refuse_or_warn` has it."""
    if named:
        return refuse_or_warn(checks)
    escalate = [f"{c.message}: escalate it to a professional (cpcm assign {case_id} --worker OTHER); until then it is on cpcm "
                "due (cadre-escalation)" for c in checks if c.rule == CADRE_OVER_MAX]
    return escalate + refuse_or_warn([c for c in checks if c.rule != CADRE_OVER_MAX])


def caseload_warnings(ctx: Context, worker_id: str, cases: dict[str, Case] | None = None, count: int | None = None) -> list[str]:
    """Giving a worker one more case (no case named: the caseload alone of `assignment_checks`): a warning
    near or over the cap; Refused over the cap where the policy says so."""
    return refuse_or_warn(assignment_checks(ctx, "", worker_id, cases=cases, count=count)[1] if worker_id else [])


def _readiness(ctx: Context, record: Record) -> dict | None:
    """The score of readiness answers recorded the old way, inside a comprehensive assessment."""
    from cpcm.service import reintegration
    from cpcm.workflow import readiness

    try:
        return readiness.score(reintegration.scoring(ctx), record.body, legacy=True).to_json()
    except (ValueError, CpcmError):
        return None


def case_content(ctx: Context, case_id: str, records: list[Record] | None = None) -> dict:
    """What a case holds beyond the fold: the latest plan's content, each assessment and what a
    reassessment changed since the previous one of its type, the needs of the latest
    comprehensive assessment, the latest readiness record scored (Form 7A), the latest household
    graduation record scored (the CPARA: its benchmarks achieved and band) and the latest Child
    Status Index (its ratings, the items that need attention, the change since the previous one). `records`: the
    records in force (`effective`), in their order: a correction in the place of what it corrected,
    as the fold applies them (so `show` lists the assessments as it lists the consents and reviews,
    and the latest of a type is the one `assessment@TYPE` finds); read so when not given."""
    records = effective(load_records(ctx, case_id)) if records is None else records
    assessments, latest_plan = [], None
    previous: dict[str, Record] = {}
    for record in records:
        if record.kind == "assessment":
            kind = record.body.get("type", "initial")
            entry = {"record_id": record.id, "type": kind, "at": record.at, "by": record.by, "risk": record.body.get("risk")}
            if kind in previous:
                entry["changed"] = changed_fields(previous[kind].body, record.body)
            if record.body.get("readiness"):  # the Kenya reintegration benchmarks, scored
                entry["readiness"] = _readiness(ctx, record)
            previous[kind] = record
            assessments.append(entry)
        elif record.kind == "plan":
            latest_plan = record
    needs = next((list(r.body.get("needs") or []) for r in reversed(records)
                  if r.kind == "assessment" and r.body.get("type") == "comprehensive"), [])
    from cpcm.service import reintegration

    latest = reintegration.latest(ctx, records) if reintegration.recorded(records) else None
    graduation = (reintegration.latest_graduation(ctx, records)
                  if any(r.kind == reintegration.GRADUATION for r in records) else None)
    from cpcm.service import csi

    child_status = (csi.latest(ctx, records, ctx.config.language or "en")
                    if any(r.kind == csi.KIND for r in records) else None)
    return {"assessments": assessments, "plan": dict(latest_plan.body) if latest_plan else None, "needs": needs,
            "readiness": latest.to_json() if latest else None, "graduation": graduation, "csi": child_status}


def fold_fingerprint() -> str:
    """A digest of the code that makes a folded case (the fold and every module it imports,
    `codeprint.digest`), for the summary cache: a cache made by other code is dropped, so a
    change to the fold can never leave stale summaries behind."""
    from cpcm.store import codeprint

    return codeprint.digest("cpcm.workflow.fold")[:16]


def open_memory(store: Store, config: Config, team: Team, policy: Policy, identity: identity_mod.Identity | None = None,
                now: datetime | None = None) -> Context:
    """A session on a repository in memory (`store.memory.MemoryStore`), with the configuration,
    team and policy given as values: the service layer with no file, git or age, for tests.
    `identity`: the acting worker's (a member of `team`), for commands that read cases or write.
    Nothing but this process writes such a repository, so the values stay as given (a team
    command run on it does not change them)."""
    ctx = Context(root=None, config=config, team=team, store=store, now=agency_now(config, now), basis=store.generation(),
                  _policy=policy)
    if identity is not None:
        ctx.identity, ctx.worker = identity, member_of(team, identity, config.recovery_recipients)
    return ctx
