"""One function per verb: open the repository, load, decide, write, commit.

The library raises `CpcmError`s and returns values; it never prints or exits (the CLI does).
Scripts can call these functions directly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from cpcm import clock, directory, forms
from cpcm.config import (AGENCY_CODE, WORKER_ID, Config, config_bytes, load_config, load_team, team_bytes)
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.domain.case import Case
from cpcm.domain.forms import validate
from cpcm.domain.ids import RecordIds, is_case_id, new_case_id, normalise_case_id
from cpcm.domain.records import HEADER, Record, changed_fields
from cpcm.domain.team import ROLES, Team, Worker
from cpcm.errors import CannotDecrypt, Corrupt, CpcmError, FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.store import atomic
from cpcm.store.cache import SummaryCache
from cpcm.store.casestore import CaseStore, recover
from cpcm.store.lock import RepoLock
from cpcm.store.git import Git
from cpcm.store.layout import (CASES, CONFIG, CPCM_DIR, GITATTRIBUTES, GITIGNORE, LOCK, PENDING, RECIPIENTS, SERVICES,
                               TEAM)
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import rules, transitions
from cpcm.workflow.duplicates import probable_duplicates
from cpcm.workflow.fold import fold

_record_ids = RecordIds()


@dataclass
class Context:
    """An opened casefile repository and, for commands that read cases or write, the acting
    worker with their identity."""

    root: Path
    config: Config
    team: Team
    store: CaseStore
    now: datetime
    identity: identity_mod.Identity | None = None
    worker: Worker | None = None
    problems: list[CpcmError] = field(default_factory=list)

    _policy: Any = None

    @property
    def policy(self):
        """The rules in force: the profile named in config with .cpcm/policy.yaml applied."""
        if self._policy is None:
            from cpcm import policies

            self._policy = policies.load(self.config.policy, self.root)
        return self._policy

    def need_worker(self) -> Worker:
        if self.worker is None or self.identity is None:
            raise CannotDecrypt("this command needs your identity", "Give it with --identity or $CPCM_IDENTITY.")
        return self.worker

    @property
    def keys(self):
        return self.identity.keys if self.identity else ()


def open_repo(root: Path, identity_path: Path | None = None, ask_passphrase: Callable[[], str | None] = lambda: None,
              need_identity: bool = True, now: datetime | None = None) -> Context:
    config = load_config(root)
    store = CaseStore(root)
    if (root / PENDING).exists():
        # a write was interrupted: roll it back before anything is read or decided
        with RepoLock(root / LOCK):
            recover(store)
    ctx = Context(root=root, config=config, team=load_team(root), store=store, now=now or clock.now())
    if need_identity:
        ident = identity_mod.load(identity_path or identity_mod.default_path(), ask_passphrase)
        worker = ctx.team.by_recipient(ident.recipients)
        if worker is None:
            raise CannotDecrypt(
                f"your key ({ident.recipient[:16]}…) is not a member of this team",
                "Ask a supervisor to add you: cpcm team add YOUR-ID --role caseworker --recipient "
                f"{ident.recipient}",
            )
        ctx.identity, ctx.worker = ident, worker
    return ctx


# -- keys ---------------------------------------------------------------------------------
def key_new(path: Path, passphrase: str | None, now: datetime, label: str = "") -> str:
    text, public = identity_mod.generate(clock.iso(now), label)
    identity_mod.save(path, text, passphrase)
    return public


def key_show(path: Path, ask_passphrase: Callable[[], str | None]) -> str:
    return identity_mod.load(path, ask_passphrase).recipient


# -- repository and team --------------------------------------------------------------------
def init(root: Path, agency_code: str, agency_name: str, worker_id: str, worker_name: str, roles: Iterable[str],
         recipient: str, now: datetime, policy: str = "inter-agency", language: str = "en",
         recovery_recipients: Iterable[str] = ()) -> Config:
    if (root / CONFIG).exists():
        raise Refused(f"{root} is already a casefile repository", "Use it as it is; cpcm init never overwrites one.", rule="init-exists")
    if root.exists() and any(p.name not in (".git",) for p in root.iterdir()):
        raise Refused(f"{root} is not empty", "Choose an empty or new folder for the casefile repository.", rule="init-not-empty")
    if not AGENCY_CODE.match(agency_code):
        raise InvalidInput([FieldError("agency", "use letters, digits, '.', '_' or '-', at most 32")], "agency code")
    _check_worker_fields(worker_id, roles, recipient)
    for extra in recovery_recipients:
        _check_recipient(extra, "recovery")
    _check_policy_name(policy)
    config = Config(agency_code=agency_code, agency_name=agency_name, policy=policy, language=language,
                    recovery_recipients=tuple(recovery_recipients))
    worker = Worker(id=worker_id, name=worker_name or worker_id, roles=tuple(dict.fromkeys(roles)), recipient=recipient,
                    since=clock.iso(now))
    root.mkdir(parents=True, exist_ok=True)
    git = Git(root)
    if not (root / ".git").exists():
        git.init()
    (root / CASES).mkdir(exist_ok=True)
    files = {
        CONFIG: config_bytes(config), TEAM: team_bytes(Team((worker,))),
        ".gitignore": GITIGNORE.encode(), ".gitattributes": GITATTRIBUTES.encode(),
        f"{CASES}/.keep": b"",
    }
    for rel, data in files.items():
        atomic.write(root / rel, data)
    git.commit(list(files), f"init {agency_code}", worker.name, _email(config, worker))
    return config


def _check_policy_name(policy: str) -> None:
    from cpcm.workflow import policy as policy_mod  # noqa: F401  (lazy: only init needs it here)

    if policy not in policy_mod.PROFILES:
        raise InvalidInput([FieldError("policy", f"'{policy}' is not one of: {', '.join(policy_mod.PROFILES)}")], "policy")


def _check_recipient(recipient: str, field_name: str = "recipient") -> None:
    try:
        cipher.parse_recipient(recipient)
    except ValueError as exc:
        raise InvalidInput([FieldError(field_name, str(exc))], field_name) from None


def _check_worker_fields(worker_id: str, roles: Iterable[str], recipient: str) -> None:
    errors = []
    if not WORKER_ID.match(worker_id or ""):
        errors.append(FieldError("worker", "a worker id is 1-32 lower-case letters, digits, '.', '_' or '-'"))
    roles = list(roles)
    if not roles or any(r not in ROLES for r in roles):
        errors.append(FieldError("role", f"each role is one of: {', '.join(ROLES)}"))
    try:
        cipher.parse_recipient(recipient)
    except ValueError as exc:
        errors.append(FieldError("recipient", str(exc)))
    if errors:
        raise InvalidInput(errors, "worker")


def _email(config: Config, worker: Worker) -> str:
    return f"{worker.id}@{config.agency_code.lower()}.cpcm.invalid"


def _need_team_manager(ctx: Context) -> Worker:
    actor = ctx.need_worker()
    overseers = [w for w in ctx.team.active if w.has_role("supervisor", "manager")]
    if overseers and not actor.has_role("supervisor", "manager"):
        raise Refused("only a supervisor or manager changes the team", f"Ask {', '.join(w.id for w in overseers)}.", rule="team-change-needs-supervisor")
    return actor


def team_add(ctx: Context, worker_id: str, roles: Iterable[str], recipient: str, name: str = "") -> dict:
    actor = _need_team_manager(ctx)
    roles = list(dict.fromkeys(roles))
    _check_worker_fields(worker_id, roles, recipient)
    if ctx.team.get(worker_id, include_removed=True):
        raise Refused(f"worker '{worker_id}' is already in the team", "Choose another id; ids are never reused.", rule="worker-exists")
    if ctx.team.by_recipient([recipient]):
        raise Refused("that recipient already belongs to a worker in the team", "Each worker has a key of their own.", rule="recipient-exists")
    worker = Worker(id=worker_id, name=name or worker_id, roles=tuple(roles), recipient=recipient, since=clock.iso(ctx.now))
    team = Team(ctx.team.workers + (worker,))
    return _change_team(ctx, actor, team, f"team add {worker_id}")


def team_remove(ctx: Context, worker_id: str) -> dict:
    actor = _need_team_manager(ctx)
    worker = ctx.team.get(worker_id)
    if worker is None:
        raise NotFound(f"no active worker '{worker_id}' in the team", "See cpcm team list.")
    if len(ctx.team.active) == 1:
        raise Refused("the last worker of a team cannot be removed", rule="team-last-worker")
    assigned = [c.id for c in load_cases(ctx).values() if c.worker == worker_id and c.status == "open"]
    if assigned:
        raise Refused(
            f"worker '{worker_id}' is assigned {len(assigned)} open case(s): {', '.join(assigned[:5])}{'…' if len(assigned) > 5 else ''}",
            "Assign them to someone else first: cpcm assign CASE --worker OTHER", rule="worker-has-cases",
        )
    removed = replace(worker, removed=clock.iso(ctx.now))
    team = Team(tuple(removed if w.id == worker_id else w for w in ctx.team.workers))
    return _change_team(ctx, actor, team, f"team remove {worker_id}")


def _change_team(ctx: Context, actor: Worker, team: Team, message: str) -> dict:
    """Write the new team and re-encrypt every case whose readers change, in one commit."""
    old_team, ctx.team = ctx.team, team
    with _transaction(ctx, message.split()[0] + "-" + message.split()[1]) as tx:
        tx.replace_file(TEAM, team_bytes(team))
        skipped = _reencrypt(ctx, tx, ctx.store.case_ids())
        tx.commit(message)
    return {"team": [w.to_dict() for w in team.active], "not_reencrypted": skipped}


def team_sync(ctx: Context) -> dict:
    """Re-encrypt every case you can read whose recipients differ from what the team needs."""
    actor = ctx.need_worker()
    with _transaction(ctx, "team-sync") as tx:
        skipped = _reencrypt(ctx, tx, ctx.store.case_ids())
        changed = len([p for p in tx.written if p.endswith(RECIPIENTS)])
        if tx.written:
            tx.commit(f"team sync {changed} cases")
    return {"reencrypted": changed, "not_reencrypted": skipped}


def _readers(ctx: Context, case: Case | None, assigned: str | None = None) -> list[str]:
    worker = assigned or (case.worker if case else None)
    return ctx.team.case_readers([worker] if worker else [])


def _recipient_keys(ctx: Context, readers: Iterable[str]) -> list[str]:
    return ctx.team.recipients_of(readers) + list(ctx.config.recovery_recipients)


def _reencrypt(ctx: Context, tx, case_ids: Iterable[str]) -> list[str]:
    """Bring each case's recipients in line with the team (its first reader is its worker);
    returns the cases that need it but that you cannot read."""
    skipped = []
    for case_id in case_ids:
        current = ctx.store.recipients(case_id)
        wanted = ctx.team.case_readers(current[:1])
        if wanted == current:
            continue
        if ctx.worker.id not in current:
            skipped.append(case_id)
            continue
        _reencrypt_case(ctx, tx, case_id, wanted)
    return skipped


def _recipients_bytes(readers: Iterable[str]) -> bytes:
    return ("# worker ids who may read this case (see .cpcm/team.yaml)\n" + "\n".join(readers) + "\n").encode()


def team_list(ctx: Context, include_removed: bool = False) -> list[dict]:
    workers = ctx.team.workers if include_removed else ctx.team.active
    return [w.to_dict() for w in workers]


# -- writing records ------------------------------------------------------------------------
def _transaction(ctx: Context, verb: str):
    worker = ctx.need_worker()
    return ctx.store.transaction(verb, worker.id, worker.name, _email(ctx.config, worker))


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


def parse_case_id(text: str) -> str:
    case_id = normalise_case_id(text)
    if case_id is None:
        raise UsageError("the case ID given is not a valid case ID (it is not echoed here, in case it was something else)",
                         "Case IDs look like CP-4F7K-9X2M; the last character is a check character that catches typing slips.")
    return case_id


# -- register -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registered:
    case_id: str
    record_id: str
    duplicates: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"case_id": self.case_id, "record_id": self.record_id,
                "possible_duplicates": [{"case_id": c, "reason": r} for c, r in self.duplicates],
                "warnings": list(self.warnings)}


def validate_registration(ctx: Context, data: Mapping[str, Any]) -> dict:
    form = forms.load("registration", ctx.root)
    body, errors = validate(form, data, ctx.now.date(), [w.id for w in ctx.team.active])
    if errors:
        raise InvalidInput(errors, "registration")
    body.setdefault("worker", ctx.need_worker().id)
    return body


def register(ctx: Context, data: Mapping[str, Any], at: datetime | None = None) -> Registered:
    """Validate and record a registration; a new case with its own random ID."""
    ctx.need_worker()
    body = validate_registration(ctx, data)
    if at is not None and at > ctx.now:
        raise InvalidInput([FieldError("at", "is in the future")], "registration")
    existing = set(ctx.store.case_ids())
    case_id = new_case_id()
    while case_id in existing:
        case_id = new_case_id()
    record = new_record(ctx, "registration", case_id, body, at)
    case = fold(case_id, [record])
    cases = load_cases(ctx)
    duplicates = tuple(probable_duplicates(case, cases.values()))
    warnings = _caseload_warnings(ctx, case.worker, cases)
    readers = _readers(ctx, case)
    with _transaction(ctx, "register") as tx:
        tx.replace_file(f"{CASES}/{case_id}/{RECIPIENTS}", _recipients_bytes(readers))
        tx.write_record(record, _recipient_keys(ctx, readers))
        tx.commit(f"register {case_id} {record.id}")
    return Registered(case_id, record.id, duplicates, tuple(warnings))


def assign(ctx: Context, case_id: str, worker_id: str, at: datetime | None = None) -> tuple[Record, list[str]]:
    """Assign a case to a worker; the case is re-encrypted to its new readers."""
    case = load_case(ctx, case_id)
    if ctx.team.get(worker_id) is None:
        raise NotFound(f"no active worker '{worker_id}' in the team", "See cpcm team list.")
    if case.worker == worker_id:
        raise Refused(f"{case_id} is already assigned to '{worker_id}'", rule="already-assigned")
    transitions.advance(case.stage, "assignment", case_id)
    warnings = _caseload_warnings(ctx, worker_id)
    record = new_record(ctx, "assignment", case_id, {"worker": worker_id, "previous": case.worker}, at,
                        after=case.history[-1].id if case.history else "")
    readers = _readers(ctx, case, assigned=worker_id)
    with _transaction(ctx, "assign") as tx:
        _reencrypt_case(ctx, tx, case_id, readers)
        tx.write_record(record, _recipient_keys(ctx, readers))
        tx.commit(f"assign {case_id} {record.id}")
    return record, warnings


def _caseload_warnings(ctx: Context, worker_id: str, cases: dict[str, Case] | None = None) -> list[str]:
    """Giving a worker one more case: a warning near or over the cap; Refused over the cap
    where the policy says so."""
    member = ctx.team.get(worker_id)
    if member is not None and not member.has_role("caseworker"):
        return []
    count = rules.caseloads((load_cases(ctx) if cases is None else cases).values()).get(worker_id, 0)
    verdict, message = rules.caseload_decision(count, ctx.policy)
    if verdict == "refuse":
        raise Refused(f"caseload: {worker_id} {message}", "Assign the case to another worker, or close or transfer cases first.",
                      rule="caseload-over-cap")
    return [f"caseload: {worker_id} {message}"] if verdict == "warn" else []


def _reencrypt_case(ctx: Context, tx, case_id: str, readers: list[str]) -> None:
    keys = _recipient_keys(ctx, readers)
    for path in ctx.store.record_files(case_id):
        plaintext = cipher.decrypt(path.read_bytes(), ctx.keys)
        tx.replace_file(ctx.store.rel(path), cipher.encrypt(plaintext, keys))
    tx.replace_file(f"{CASES}/{case_id}/{RECIPIENTS}", _recipients_bytes(readers))


# -- reading --------------------------------------------------------------------------------
def _check_readable(ctx: Context, case_id: str) -> None:
    worker = ctx.need_worker()
    if not ctx.store.exists(case_id):
        raise NotFound(f"no case {case_id} in this casefile repository", "See cpcm list for the cases you can read.")
    if worker.id not in ctx.store.recipients(case_id):
        raise CannotDecrypt(f"you ({worker.id}) are not a recipient of {case_id}",
                            "Only the case's worker, supervisors and managers read it; ask a supervisor to assign it to you.")


def load_records(ctx: Context, case_id: str) -> list[Record]:
    _check_readable(ctx, case_id)
    return ctx.store.read_records(case_id, ctx.keys)


def load_case(ctx: Context, case_id: str) -> Case:
    return fold(case_id, load_records(ctx, case_id))


def load_cases(ctx: Context) -> dict[str, Case]:
    """Every case the worker can read, folded; through the summary cache. A damaged case is
    left out and noted in `ctx.problems`, so the others still list."""
    worker = ctx.need_worker()
    trees = ctx.store.git.tree_ids(CASES)
    cache = SummaryCache(ctx.root, worker.id, ctx.identity.recipient, ctx.keys)
    ids = ctx.store.case_ids()
    cases: dict[str, Case] = {}
    for case_id in ids:
        tree = trees.get(case_id)
        entry = cache.get(case_id, tree)
        if entry is not None:
            if entry["case"] is not None:
                cases[case_id] = Case.from_dict(entry["case"])
            continue
        if worker.id not in ctx.store.recipients(case_id):
            cache.put(case_id, tree, None)
            continue
        try:
            case = fold(case_id, ctx.store.read_records(case_id, ctx.keys))
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
            continue
        cases[case_id] = case
        cache.put(case_id, tree, case.to_dict())
    cache.prune(set(ids))
    try:
        cache.save()
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    return cases


def list_cases(ctx: Context, status: str | None = None, risk: str | None = None, worker: str | None = None,
               stage: str | None = None) -> list[Case]:
    selected = []
    for case in load_cases(ctx).values():
        if status and case.status != status:
            continue
        if risk and case.risk != risk:
            continue
        if worker and case.worker != worker:
            continue
        if stage and case.stage != stage:
            continue
        selected.append(case)
    return sorted(selected, key=lambda c: (c.registered_at or "", c.id))


@dataclass(frozen=True)
class LogEntry:
    record_id: str
    kind: str
    at: str
    recorded_at: str
    by: str
    commit: str | None
    committed_at: str | None
    message: str | None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def log(ctx: Context, case_id: str) -> list[LogEntry]:
    records = load_records(ctx, case_id)
    added = {}
    for commit in ctx.store.git.log([f"{CASES}/{case_id}"], added_only=True):
        for path in commit.files:
            added.setdefault(Path(path).name.split(".")[0], commit)
    entries = []
    for record in sorted(records, key=lambda r: r.id):
        commit = added.get(record.id)
        entries.append(LogEntry(record.id, record.kind, record.at, record.recorded_at, record.by,
                                commit.sha if commit else None, commit.date if commit else None,
                                commit.message if commit else None))
    return entries


# -- the workflow: what is due, what is wrong -------------------------------------------------
def due(ctx: Context, worker: str | None = None, within_days: float | None = None, overdue_only: bool = False,
        case: Case | None = None) -> list[deadlines_mod.Deadline]:
    """What is due or overdue, most urgent first. `worker`: whose list (default: yours);
    'all' for every case you can read."""
    me = ctx.need_worker()
    now, policy = ctx.now, ctx.policy
    soon = deadlines_mod.soon_window(policy, now)
    horizon = now + (timedelta(days=within_days) if within_days is not None else soon)
    whose = worker or me.id
    if whose != "all" and whose != me.id and ctx.team.get(whose, include_removed=True) is None:
        raise NotFound(f"no worker '{whose}' in the team", "See cpcm team list.")
    target = ctx.team.get(whose)
    oversees = bool(target and target.has_role("supervisor", "manager"))
    one = case is not None
    items = []
    for each in [case] if one else load_cases(ctx).values():
        for item in deadlines_mod.deadlines(each, policy, now):
            if whose != "all" and not one and not deadlines_mod.for_worker(item, whose, oversees, policy):
                continue
            if overdue_only and item.state(now, soon) != "overdue":
                continue
            if not one and (item.target or item.due) > horizon:
                continue
            items.append(item)
    if not one:  # conference items (the report due after a conference), for the same worker
        from cpcm import conference as conference_mod
        items += conference_mod.due_items(ctx, whose, horizon, overdue_only, soon)
    return sorted(items, key=lambda i: deadlines_mod.urgency(i, now, soon))


def check(ctx: Context, case_id: str | None = None) -> list[rules.Problem]:
    """Every rule problem in one case, or in every case you can read plus the caseloads."""
    ctx.need_worker()
    if case_id:
        return rules.check_case(load_case(ctx, case_id), ctx.policy, ctx.now)
    cases = load_cases(ctx)
    problems = []
    for case in cases.values():
        problems += rules.check_case(case, ctx.policy, ctx.now)
    problems += rules.check_caseloads(cases.values(), ctx.team, ctx.policy)
    return problems


def policy_rows(policy) -> list[dict]:
    """Every rule value in force, with where it was set and its source."""
    rows = []
    for rule, block in policy.rules.items():
        for key, value in _leaves(block):
            if key.split(".")[0] in ("source", "choice", "note"):
                continue
            rows.append({"rule": rule, "key": key, "value": value,
                         "set_in": policy.origins.get(f"{rule}.{key}") or policy.origins.get(rule, ""),
                         "source": policy.source(rule)})
    return rows


def _leaves(block, prefix=""):
    for key, value in block.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# -- assessing and planning ---------------------------------------------------------------------
ASSESSMENT_FORMS = {"initial": "assessment-initial", "comprehensive": "assessment-comprehensive",
                    "best_interests": "best-interests"}


@dataclass(frozen=True)
class Written:
    """What a command wrote: the record, and what the worker should know next."""

    case_id: str
    record_id: str
    kind: str
    warnings: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"case_id": self.case_id, "record_id": self.record_id, "kind": self.kind,
                "warnings": list(self.warnings), "next_steps": list(self.next_steps)}


def form_for(ctx: Context, kind: str) -> str:
    """The form definition the policy names for a record (the Kenya profile adds the
    reintegration readiness benchmarks to the comprehensive assessment, say)."""
    return str(ctx.policy.get("forms", kind) or ASSESSMENT_FORMS.get(kind) or kind)


def _validate(ctx: Context, form_name: str, data: Mapping[str, Any], what: str) -> dict:
    form = forms.load(form_name, ctx.root)
    body, errors = validate(form, data, ctx.now.date(), [w.id for w in ctx.team.active])
    if errors:
        raise InvalidInput(errors, what)
    return body


def _append(ctx: Context, case: Case, verb: str, kind: str, body: Mapping[str, Any], at: datetime | None) -> Record:
    """Check the transition, then write one record to the case in one commit."""
    if at is not None and at > ctx.now:
        raise InvalidInput([FieldError("at", "is in the future")], verb)
    transitions.advance(case.stage, transitions.command_of(kind, dict(body)), case.id)
    record = new_record(ctx, kind, case.id, body, at, after=case.history[-1].id if case.history else "")
    readers = ctx.store.recipients(case.id)
    with _transaction(ctx, verb) as tx:
        tx.write_record(record, _recipient_keys(ctx, readers))
        tx.commit(f"{verb} {case.id} {record.id}")
    return record


def assess(ctx: Context, case_id: str, kind: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record an initial, comprehensive or best-interests assessment (risk re-rating included)."""
    kind = kind.replace("-", "_")
    if kind not in ASSESSMENT_FORMS:
        raise UsageError(f"--type: '{kind}' is not one of: initial, comprehensive, best-interests")
    case = load_case(ctx, case_id)
    body = _validate(ctx, form_for(ctx, kind), data, f"{kind.replace('_', '-')} assessment of {case_id}")
    body = {"type": kind, **body}
    new_risk = body.get("risk")
    if new_risk and case.risk and new_risk != case.risk and not body.get("risk_reason"):
        raise InvalidInput([FieldError("risk_reason", f"is required when the risk level changes (from {case.risk} to {new_risk})")],
                           f"{kind} assessment of {case_id}")
    record = _append(ctx, case, "assess", "assessment", body, at)
    steps = []
    if kind == "initial":
        outcome = body.get("outcome")
        if outcome in ("close_no_concerns", "close_registered_in_error"):
            steps.append(f"request closure: cpcm close {case_id} --reason {'registered_in_error' if outcome.endswith('error') else 'no_longer_eligible'}")
        elif outcome == "transfer":
            steps.append(f"transfer the case: cpcm transfer {case_id} --to AGENCY ...")
        elif body.get("interim_plan_needed"):
            steps.append(f"record an interim plan now: cpcm plan {case_id} (with interim: yes)")
        else:
            steps.append(f"the comprehensive assessment: cpcm assess {case_id} --type comprehensive")
    elif kind == "comprehensive":
        limit = ctx.policy.duration("case_plan", "limit")
        steps.append(f"case plan within {limit.words()}: cpcm plan {case_id}")
    return Written(case_id, record.id, "assessment", next_steps=tuple(steps))


def plan(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a new version of the case plan; in force once approved where the policy says so."""
    case = load_case(ctx, case_id)
    body = _validate(ctx, form_for(ctx, "plan"), data, f"plan for {case_id}")
    errors = []
    ids = []
    for index, goal in enumerate(body["goals"], start=1):
        goal.setdefault("id", f"G{index}")
        if goal["id"] in ids:
            errors.append(FieldError(f"goals[{index}].id", f"'{goal['id']}' is used twice"))
        ids.append(goal["id"])
    for index, action in enumerate(body["actions"], start=1):
        if action.get("goal") and action["goal"] not in ids:
            errors.append(FieldError(f"actions[{index}].goal", f"no goal with id '{action['goal']}' ({', '.join(ids)})"))
    if errors:
        raise InvalidInput(errors, f"plan for {case_id}")
    if body.get("interim") is None and case.stage in ("registered", "initial_assessment", "reopened"):
        body["interim"] = True
    record = _append(ctx, case, "plan", "plan", body, at)
    version = (case.plan or {}).get("version", 0) + 1
    steps = []
    if ctx.policy.get("plan_approval", "required"):
        steps.append(f"plan version {version} is in force once a supervisor approves it: cpcm approve {case_id} plan")
    return Written(case_id, record.id, "plan", next_steps=tuple(steps))


def decide(ctx: Context, case_id: str, subject: str, approve: bool, note: str | None = None,
           at: datetime | None = None) -> Written:
    """A supervisor's approval or rejection of a plan, a closure or a transfer."""
    actor = ctx.need_worker()
    verb = "approve" if approve else "reject"
    if subject not in ("plan", "closure", "transfer"):
        raise UsageError(f"'{subject}' cannot be approved", "Approve or reject: plan, closure or transfer.")
    if not approve and not (note or "").strip():
        raise InvalidInput([FieldError("note", "is required: say why, so the worker knows what to change")], "rejection")
    if not actor.has_role("supervisor", "manager"):
        raise Refused(f"only a supervisor or manager can {verb} a {subject}", "Ask your supervisor.", rule="approval-needs-supervisor")
    case = load_case(ctx, case_id)
    rule = {"plan": "plan_approval", "closure": "closure_approval", "transfer": "transfer"}[subject]
    if subject == "plan":
        pending = case.plan if case.plan and not case.plan.get("approved_at") and not case.plan.get("rejected_at") else None
        requester = pending.get("by") if pending else None
    elif subject == "closure":
        pending = case.closure if case.stage == "closure_requested" and case.closure else None
        requester = pending.get("by") if pending else None
    else:
        request = case.transfer_request
        pending = request if request and request.get("decided_at") is None and case.status == "open" else None
        requester = pending.get("by") if pending else None
    if pending is None:
        raise Refused(f"{case_id} has no {subject} waiting for a decision", rule="nothing-to-approve")
    self_allowed = bool(ctx.policy.get(rule, "self_approval", False))
    own = {requester} | ({case.worker} if subject == "closure" else set())
    if actor.id in own and not self_allowed:
        who = "the case's own worker" if actor.id == case.worker and subject == "closure" else "the one who asked for it"
        raise Refused(f"you are {who}: someone else must {verb} this {subject}",
                      f"The policy ({rule}.self_approval) needs another supervisor or manager.", rule="self-approval")
    body = {"subject": subject, "target": pending.get("record_id")}
    if note:
        body["note"] = note.strip()
    record = _append(ctx, case, verb, "approval" if approve else "rejection", body, at)
    return Written(case_id, record.id, record.kind)


def _readiness(ctx: Context, record: Record) -> dict | None:
    from cpcm.workflow import readiness

    rules = forms.scoring(form_for(ctx, "comprehensive"), ctx.root)
    if not rules:
        return None
    try:
        return readiness.score(rules, record.body).to_json()
    except ValueError:
        return None


def case_details(ctx: Context, case_id: str, records: list[Record] | None = None) -> dict:
    """What `cpcm show` needs beyond the fold: the latest plan's content, each assessment and
    what a reassessment changed since the previous one of its type (and its needs)."""
    records = load_records(ctx, case_id) if records is None else records
    assessments, latest_plan = [], None
    previous: dict[str, Record] = {}
    for record in sorted(records, key=lambda r: r.id):
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
    needs = next((list(r.body.get("needs") or []) for r in sorted(records, key=lambda r: r.id, reverse=True)
                  if r.kind == "assessment" and r.body.get("type") == "comprehensive"), [])
    return {"assessments": assessments, "plan": dict(latest_plan.body) if latest_plan else None, "needs": needs}


# -- consent ------------------------------------------------------------------------------------
def consent(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record consent or assent for one purpose, from the child or the caregiver."""
    case = load_case(ctx, case_id)
    body = _validate(ctx, form_for(ctx, "consent"), data, f"consent for {case_id}")
    if body.get("agency") and body["purpose"] != "transfer" and directory.find(directory.load(ctx.root), body["agency"]) is None:
        raise InvalidInput([FieldError("agency", "is not a service id in the directory (cpcm service list)")], f"consent for {case_id}")
    if body.get("until") and body.get("one_off"):
        raise InvalidInput([FieldError("until", "give a date or one-off, not both")], f"consent for {case_id}")
    record = _append(ctx, case, "consent", "consent", body, at)
    steps = []
    if body["status"] != "given":
        agency = f" --agency {body['agency']}" if body.get("agency") else ""
        steps.append("acting without consent needs a supervisor's override: cpcm consent "
                     f"{case_id} --override --purpose {body['purpose']}{agency} --basis best_interests --reason ...")
    return Written(case_id, record.id, "consent", next_steps=tuple(steps))


def consent_override(ctx: Context, case_id: str, purpose: str, basis: str, reason: str, agency: str | None = None,
                     at: datetime | None = None) -> Written:
    """A supervisor's override where consent is refused or not possible: a legal mandate or the
    child's best interests, recorded with its basis; it stands in for consent once."""
    actor = ctx.need_worker()
    rule = ctx.policy.rules["consent"]
    if not actor.has_role(*rule.get("override_roles", ("supervisor", "manager"))):
        raise Refused("only a supervisor or manager can override consent", "Ask your supervisor to record the override.",
                      rule="consent-override-needs-supervisor")
    errors = []
    if basis not in rule.get("override_bases", ()):
        errors.append(FieldError("basis", f"is not one of: {', '.join(rule.get('override_bases', ()))}"))
    if not (reason or "").strip():
        errors.append(FieldError("reason", "is required: why acting without consent is lawful or in the child's best interests"))
    if purpose in ("referral", "sharing", "transfer") and not agency:
        errors.append(FieldError("agency", f"is required for {purpose}"))
    if errors:
        raise InvalidInput(errors, f"consent override for {case_id}")
    case = load_case(ctx, case_id)
    body = {"purpose": purpose, "basis": basis, "reason": reason.strip()}
    if agency:
        body["agency"] = agency
    record = _append(ctx, case, "consent", "consent_override", body, at)
    return Written(case_id, record.id, "consent_override")


def check_consent(ctx: Context, case_id: str, purpose: str, agency: str | None = None, records: list[Record] | None = None):
    """The one consent rule every sharing action calls; Refused (exit 4) with the reasons."""
    from cpcm.workflow import consent as consent_rule

    records = load_records(ctx, case_id) if records is None else records
    result = consent_rule.check(records, purpose, agency, ctx.policy, ctx.now)
    if not result.ok:
        raise Refused(f"{case_id}: no valid consent for {purpose}{' to ' + agency if agency else ''}: {result.why_not()}",
                      f"Record consent (cpcm consent {case_id} --purpose {purpose} ...) or ask a supervisor for an override.",
                      rule="consent-required")
    return result


# -- the service directory ------------------------------------------------------------------------
def service_add(ctx: Context, data: Mapping[str, Any]) -> dict:
    ctx.need_worker()
    services = directory.load(ctx.root)
    entry = _validate(ctx, form_for(ctx, "service"), data, "service")
    errors = directory.check_entry(entry, services)
    if errors:
        raise InvalidInput(errors, "service")
    with _transaction(ctx, "service-add") as tx:
        tx.replace_file(SERVICES, directory.dump(services + [entry]))
        tx.commit(f"service add {entry['id']}")
    return entry


def service_import(ctx: Context, text: str, dry_run: bool = False) -> list[dict]:
    """Import many services from CSV: every row is checked first; one bad row and nothing is written."""
    ctx.need_worker()
    services = directory.load(ctx.root)
    form = forms.load(form_for(ctx, "service"), ctx.root)
    entries, errors = [], []
    for number, row in enumerate(directory.read_csv(text), start=2):  # row 1 is the header
        entry, row_errors = validate(form, row, ctx.now.date())
        row_errors += directory.check_entry(entry, services + entries) if not row_errors else []
        errors += [FieldError(f"row {number}: {e.field}", e.reason) for e in row_errors]
        entries.append(entry)
    if errors:
        raise InvalidInput(errors, "the CSV file", "Correct the rows named above; nothing was imported.")
    if not entries:
        raise InvalidInput([FieldError("rows", "the file has a header but no services")], "the CSV file")
    if not dry_run:
        with _transaction(ctx, "service-import") as tx:
            tx.replace_file(SERVICES, directory.dump(services + entries))
            tx.commit(f"service import {len(entries)} services")
    return entries


def service_get(ctx: Context, service_id: str) -> dict:
    found = directory.find(directory.load(ctx.root), service_id)
    if found is None:
        raise NotFound(f"no service '{service_id}' in the directory", "See cpcm service list.")
    return found


def service_gaps(ctx: Context) -> list[dict]:
    """Needs in open cases' latest assessments and plans that no service in the directory
    answers: the gaps to raise with the referral network (counts only)."""
    services = directory.load(ctx.root)
    counts: dict[str, set[str]] = {}
    for case in load_cases(ctx).values():
        if case.status != "open":
            continue
        details = case_details(ctx, case.id)
        needs = details["needs"] + [a.get("what", "") for a in (details["plan"] or {}).get("actions", []) if a.get("mode") == "referral"]
        for need in needs:
            if not any(directory.matches(need, s) for s in services):
                counts.setdefault(need.strip().lower(), set()).add(case.id)
    return sorted(({"need": need, "cases": len(ids)} for need, ids in counts.items()), key=lambda g: (-g["cases"], g["need"]))


# -- referrals ----------------------------------------------------------------------------------
def refer(ctx: Context, case_id: str, service_id: str, need: str, urgent: bool = False, accompany: bool = False,
          checks: Iterable[str] = (), action: int | None = None, at: datetime | None = None) -> Written:
    """Refer a case to a service: only with valid consent for that agency (or an override), and
    carrying only what the policy's sharing rule allows for the service's sector."""
    from cpcm.workflow import referrals as referral_rules

    service = service_get(ctx, service_id)
    if not (need or "").strip():
        raise InvalidInput([FieldError("need", "is required: the need this referral answers, as a need")], "referral")
    checks = list(dict.fromkeys(checks))
    unknown = [c for c in checks if c not in referral_rules.CHECKS[:4]]
    missing = [c for c in ctx.policy.get("referral_checks", "required") or () if c not in checks]
    errors = [FieldError("check", f"'{c}' is not one of: {', '.join(referral_rules.CHECKS[:4])}") for c in unknown]
    errors += [FieldError(f"check.{c}", "is required before referring (ESARO S4): confirm it with --check " + c) for c in missing]
    if errors:
        raise InvalidInput(errors, f"referral of {case_id}")
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    if action is not None:
        actions = (case_details(ctx, case_id, records)["plan"] or {}).get("actions", [])
        if not 1 <= action <= len(actions):
            raise InvalidInput([FieldError("action", f"the plan in force has {len(actions)} action(s)")], f"referral of {case_id}")
    consent_ok = check_consent(ctx, case_id, "referral", service_id, records)
    groups = referral_rules.fields_to_share(ctx.policy, service.get("sector", ""))
    body = {
        "service": service_id, "sector": service.get("sector"), "need": need.strip(), "urgent": urgent, "accompany": accompany,
        "checks": {c: True for c in checks}, "consent_ids": list(consent_ok.uses), "shared_groups": groups,
        "shared": referral_rules.shared_view(groups, case, need.strip(), urgent, ctx.now.date()),
    }
    if consent_ok.override:
        body["consent_override"] = consent_ok.override
    if action is not None:
        body["plan_action"] = {"plan": case.plan["record_id"], "action": action}
    record = _append(ctx, case, "refer", "referral", body, at)
    ref = f"R{len(case.referrals) + 1}"
    limit = ctx.policy.duration("referral_feedback", "limit")
    return Written(case_id, record.id, "referral",
                   warnings=tuple([f"consent overridden ({consent_ok.why_not()})"] if consent_ok.override else []),
                   next_steps=(f"referral {ref}: feedback from the provider is expected within {limit.words()}: "
                               f"cpcm referral {case_id} {ref} --status acknowledged|accepted|declined ...",))


def referral_update(ctx: Context, case_id: str, ref: str, status: str, start: str | None = None,
                    expected_duration: str | None = None, feedback: str | None = None, at: datetime | None = None) -> Written:
    """Move a referral along its lifecycle (acknowledged, accepted, declined, delivered,
    not_delivered, closed), with the provider's feedback."""
    from cpcm.workflow import referrals as referral_rules
    from cpcm.workflow.durations import parse_duration

    case = load_case(ctx, case_id)
    found = case.referral(ref)
    if found is None:
        raise NotFound(f"{case_id} has no referral '{ref}'", f"Its referrals: {', '.join(r['ref'] for r in case.referrals) or 'none'}.")
    referral_rules.next_status(found["status"], status, found["ref"])
    body: dict[str, Any] = {"referral": found["record_id"], "status": status}
    errors = []
    if start:
        try:
            body["start"] = clock.parse_datetime(start, "start").date().isoformat()
        except UsageError:
            errors.append(FieldError("start", "is not a date (use YYYY-MM-DD)"))
    if expected_duration:
        try:
            body["expected_duration"] = str(parse_duration(expected_duration))
        except ValueError as exc:
            errors.append(FieldError("expected_duration", str(exc)))
    if feedback:
        body["feedback"] = feedback.strip()
    errors += [e for e in referral_rules.update_problems(status, body) if e.field not in {x.field for x in errors}]
    if errors:
        raise InvalidInput(errors, f"referral {found['ref']} of {case_id}")
    record = _append(ctx, case, "referral", "referral_update", body, at)
    steps = []
    if status in referral_rules.NEEDS_WORKER:
        steps.append("find another service or replan; the case stays yours: cpcm service list, cpcm refer, cpcm plan")
    return Written(case_id, record.id, "referral_update", next_steps=tuple(steps))


# -- following up, reviewing, closing, reopening ------------------------------------------------
def followup(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a follow-up or monitoring contact (a post-closure visit on a closed case)."""
    case = load_case(ctx, case_id)
    body = _validate(ctx, form_for(ctx, "followup"), data, f"follow-up of {case_id}")
    if body.get("risk") and case.risk and body["risk"] != case.risk and not body.get("risk_reason"):
        raise InvalidInput([FieldError("risk_reason", f"is required when the risk level changes (from {case.risk} to {body['risk']})")],
                           f"follow-up of {case_id}")
    if case.status == "closed" and body.get("purpose") != "post_closure":
        raise Refused(f"{case_id} is closed: only a post-closure visit can be recorded",
                      "Use --purpose post_closure (collecting the child's and family's feedback), or reopen the case.",
                      rule="transition-not-allowed")
    record = _append(ctx, case, "followup", "followup", body, at)
    warnings, steps = [], []
    if body.get("risk_increased") == "yes":
        warnings.append("the risk has increased: this is now an urgent item")
        if not body.get("risk"):
            steps.append(f"re-rate the risk now: cpcm followup {case_id} ... --risk LEVEL --risk-reason TEXT, "
                         f"or reassess: cpcm assess {case_id} --type comprehensive")
    if body.get("concern") == "yes" and ctx.worker.id != case.worker:
        steps.append(f"the concern is on {case.worker}'s due list")
    return Written(case_id, record.id, "followup", tuple(warnings), tuple(steps))


def _review_body(ctx: Context, case: Case, data: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """A validated review and its warnings; InvalidInput naming every bad field."""
    body = _validate(ctx, form_for(ctx, "review"), data, f"review of {case.id}")
    warnings = []
    if body.get("chair") == case.worker:
        warnings.append(f"{case.id}: the chair is the case's own worker; the guidelines ask for a manager or someone not involved")
    interval, _ = deadlines_mod.review_interval(case, ctx.policy, ctx.now)
    latest = interval.after(ctx.now).date()
    if body.get("next_review"):
        if body["next_review"] > latest.isoformat():
            raise InvalidInput([FieldError("next_review", f"is later than the policy allows ({interval.words()}: by {latest.isoformat()})")],
                               f"review of {case.id}")
        if body["next_review"] < ctx.now.date().isoformat():
            raise InvalidInput([FieldError("next_review", "is in the past")], f"review of {case.id}")
    return body, warnings


def _review_steps(case_id: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    return {
        "replan": (f"record the new plan version: cpcm plan {case_id} --reason review",),
        "reassess": (f"reassess: cpcm assess {case_id} --type comprehensive",),
        "close": (f"request closure: cpcm close {case_id} --reason goals_met ...",),
    }.get(body.get("outcome"), ())


def review(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a case review: who chaired and attended, progress, decisions, the next review."""
    case = load_case(ctx, case_id)
    body, warnings = _review_body(ctx, case, data)
    record = _append(ctx, case, "review", "review", body, at)
    return Written(case_id, record.id, "review", tuple(warnings), _review_steps(case_id, body))


def review_batch(ctx: Context, rows: list[Mapping[str, Any]], dry_run: bool = False,
                 progress: Callable[[int], None] | None = None) -> dict:
    """Review many cases from one file: every row is checked first; one bad row and nothing is
    written; otherwise all reviews go in one commit."""
    ctx.need_worker()
    errors, planned, warnings = [], [], []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        data = dict(row)
        raw_case = str(data.pop("case", "") or "").strip()
        case_id = normalise_case_id(raw_case) if raw_case else None
        if case_id is None:
            errors.append(FieldError(f"row {number}: case", "is missing or not a valid case ID"))
            continue
        if case_id in seen:
            errors.append(FieldError(f"row {number}: case", f"{case_id} appears twice in the batch"))
            continue
        seen.add(case_id)
        try:
            case = load_case(ctx, case_id)
            body, row_warnings = _review_body(ctx, case, data)
            transitions.advance(case.stage, "review", case_id)
        except InvalidInput as exc:
            errors += [FieldError(f"row {number}: {e.field}", e.reason) for e in exc.errors]
            continue
        except (Refused, NotFound, CannotDecrypt) as exc:
            errors.append(FieldError(f"row {number}: case", exc.message))
            continue
        warnings += row_warnings
        planned.append((case, body))
        if progress:
            progress(1)
    if errors:
        raise InvalidInput(errors, f"the batch ({len(rows)} rows)", "Correct the rows named above; nothing was written.")
    if not planned:
        raise InvalidInput([FieldError("rows", "the batch holds no rows")], "the batch")
    written = []
    if not dry_run:
        with _transaction(ctx, "review-batch") as tx:
            for case, body in planned:
                record = new_record(ctx, "review", case.id, body, after=case.history[-1].id if case.history else "")
                tx.write_record(record, _recipient_keys(ctx, ctx.store.recipients(case.id)))
                written.append({"case_id": case.id, "record_id": record.id})
                if progress:
                    progress(1)
            tx.commit(f"review batch {len(written)} cases")
    return {"reviewed": len(written), "checked": len(planned), "dry_run": dry_run, "warnings": warnings,
            "records": written or [{"case_id": c.id} for c, _ in planned]}


def unfinished(case: Case, records: list[Record]) -> dict[str, list[str]]:
    """What is still open on a case: referrals not closed or delivered, and the plan's actions
    whose latest review status is not done or dropped."""
    referrals = [r["ref"] for r in case.referrals if r["status"] not in ("closed", "delivered")]
    plan_record = next((r for r in sorted(records, key=lambda r: r.id, reverse=True) if r.kind == "plan"), None)
    status: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.kind == "review" and plan_record and record.id > plan_record.id:
            for item in record.body.get("progress") or []:
                status[str(item.get("item", "")).upper()] = item.get("status")
    actions = []
    for number, _action in enumerate((plan_record.body.get("actions") if plan_record else None) or [], start=1):
        if status.get(f"A{number}") not in ("done", "dropped"):
            actions.append(f"A{number}")
    return {"referrals": referrals, "actions": actions}


def close(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Request closure with the reason's checklist; the case closes when a supervisor or manager
    (not its own worker) approves, or at once where the policy needs no approval."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    body = _validate(ctx, form_for(ctx, "closure"), data, f"closure of {case_id}")
    reason = body["reason"]
    needed = list(ctx.policy.get("closure_reasons", reason) or [])
    given = list(body.get("checklist") or [])
    errors = [FieldError(f"checklist.{item}", f"is required to close for '{reason}': confirm it with --check {item}")
              for item in needed if item not in given]
    errors += [FieldError("checklist", f"'{item}' is not on the '{reason}' checklist ({', '.join(needed)})")
               for item in given if item not in needed]
    if reason == "goals_met":
        wanted = int(ctx.policy.get("pre_closure_monitoring", "followups") or 0)
        since = (case.plan or {}).get("at")
        done = len([t for t in case.events.get("followup", ()) if since is None or t >= since])
        if done < wanted:
            errors.append(FieldError("followups", f"{done} follow-up(s) since the plan; the policy asks for {wanted} before closing "
                                                  "(pre_closure_monitoring)"))
    left = unfinished(case, records)
    if (left["referrals"] or left["actions"]) and not body.get("open_items_explained"):
        items = ", ".join([f"referral {r}" for r in left["referrals"]] + [f"action {a}" for a in left["actions"]])
        errors.append(FieldError("open_items_explained", f"open items remain ({items}): resolve them or explain why they can be left"))
    if errors:
        raise InvalidInput(errors, f"closure of {case_id}")
    body["open_items"] = left
    if not ctx.policy.get("closure_approval", "required"):
        body["immediate"] = True
    record = _append(ctx, case, "close", "closure", body, at)
    if body.get("immediate"):
        limit = ctx.policy.duration("post_closure_visit", "limit")
        steps = (f"the case is closed; a post-closure visit is due within {limit.words()}",)
    else:
        who = ("a supervisor or manager" if ctx.policy.get("closure_approval", "self_approval")
               else f"a supervisor or manager other than {case.worker}")
        steps = (f"closure requested: {who} approves it: cpcm approve {case_id} closure",)
    return Written(case_id, record.id, "closure", next_steps=steps)


def reopen(ctx: Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """Reopen a closed or transferred case: same case ID, history kept, back to assessment."""
    if not (reason or "").strip():
        raise InvalidInput([FieldError("reason", "is required: the new information or changed situation")], f"reopening of {case_id}")
    case = load_case(ctx, case_id)
    record = _append(ctx, case, "reopen", "reopen", {"reason": reason.strip()}, at)
    limit = ctx.policy.duration("initial_assessment", "limit")
    return Written(case_id, record.id, "reopen", next_steps=(f"the clocks restart: initial assessment within {limit.words()}",))


def continue_case(ctx: Context, case_id: str, justification: str, at: datetime | None = None) -> Written:
    """Keep a case open as the child reaches 18, with the recorded justification."""
    if not (justification or "").strip():
        raise InvalidInput([FieldError("justification", "is required: why the young person still needs the service")],
                           f"continuation of {case_id}")
    case = load_case(ctx, case_id)
    record = _append(ctx, case, "continue", "continuation", {"justification": justification.strip()}, at)
    return Written(case_id, record.id, "continuation")


def note(ctx: Context, case_id: str, text: str, at: datetime | None = None) -> Written:
    """A case note (allowed on closed and transferred cases too)."""
    if not (text or "").strip():
        raise InvalidInput([FieldError("text", "is empty")], f"note on {case_id}")
    case = load_case(ctx, case_id)
    record = _append(ctx, case, "note", "note", {"text": text.strip()}, at)
    return Written(case_id, record.id, "note")


# -- verifying the repository ---------------------------------------------------------------------
def verify(ctx: Context) -> list[rules.Problem]:
    """Every check of `cpcm verify`: the working tree, git's objects, the history of every record
    file, whom each record version is encrypted to, and every record you can read (cpcm/store/audit.py)."""
    from cpcm.store import audit

    return audit.verify(ctx.store, ctx.config, ctx.team, ctx.need_worker(), ctx.keys)


# -- exports ------------------------------------------------------------------------------------
def cases_for_export(ctx: Context, agency: str | None, identifying: bool, status: str | None = None):
    """The cases an export may carry, and how many were left out: with identifying fields, only
    cases with valid consent for sharing with `agency` (each read once). Returns (cases, the
    consent records each relies on, left out)."""
    worker = ctx.need_worker()
    if not identifying:
        cases = [c for c in load_cases(ctx).values() if not status or c.status == status]
        return cases, {}, 0
    from cpcm.workflow import consent as consent_rule

    cases, uses, left_out = [], {}, 0
    for case_id in ctx.store.case_ids():
        if worker.id not in ctx.store.recipients(case_id):
            continue
        try:
            records = ctx.store.read_records(case_id, ctx.keys)
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
            continue
        case = fold(case_id, records)
        if status and case.status != status:
            continue
        result = consent_rule.check(records, "sharing", agency, ctx.policy, ctx.now)
        if not result.ok:
            left_out += 1
            continue
        cases.append(case)
        uses[case_id] = list(result.uses)
    return cases, uses, left_out


def record_sharing(ctx: Context, cases: Iterable[Case], uses: Mapping[str, list[str]], agency: str, fields: Iterable[str]) -> int:
    """Note in each exported case what was disclosed, to whom, and on which consent (a one-off
    consent is then used); one commit. Holds field names, never the data."""
    fields = list(fields)
    written = 0
    with _transaction(ctx, "export") as tx:
        for case in cases:
            body = {"purpose": "export", "agency": agency, "fields": fields, "consent_ids": uses.get(case.id, [])}
            record = new_record(ctx, "sharing", case.id, body, after=case.history[-1].id if case.history else "")
            tx.write_record(record, _recipient_keys(ctx, ctx.store.recipients(case.id)))
            written += 1
        if written:
            tx.commit(f"export {written} cases")
    return written
