"""Keys, the repository and its team: cpcm key, init and team."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

from cpcm import clock
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.crypto import signing
from cpcm.domain import team as team_rules
from cpcm.domain.ids import AGENCY_CODE, WORKER_ID
from cpcm.domain.team import CADRES, KEY_REASONS, OVERSIGHT, ROLES, Team, Worker, cadre_words
from cpcm.errors import FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service.context import (CaseStream, Context, case_covers, case_restricted, commit_email, keys_for,
                                  reencrypt, transaction, writes)
from cpcm.service.results import Written
from cpcm.store import atomic
from cpcm.store.config import Config, config_bytes, team_bytes
from cpcm.store.git import INDEX_LOCK, Git
from cpcm.store.layout import (CASES, CONFIG, FORMAT_VERSION, GITATTRIBUTES, GITIGNORE, LOCK, RECIPIENTS, TEAM, TMP_PREFIX,
                               folder_rel, split_rel, with_rekey)
from cpcm.workflow import cover as cover_rules
from cpcm.workflow import retention as retention_rules
from cpcm.workflow.rules import off_team, unattended


def key_new(path: Path, passphrase: str | None, now: datetime, label: str = "") -> str:
    text, public = identity_mod.generate(clock.iso(now), label)
    identity_mod.save(path, text, passphrase)
    try:  # the public half, for completion; losing it loses nothing
        identity_mod.public_path(path).write_text(public + "\n", encoding="utf-8")
    except OSError:
        pass
    return public


def key_show(path: Path, ask_passphrase: Callable[[], str | None]) -> str:
    return identity_mod.load(path, ask_passphrase).recipient


def key_signing(path: Path, ask_passphrase: Callable[[], str | None], worker_id: str = "") -> tuple[str, str]:
    """(age recipient, OpenSSH public line of the signing key derived from the identity)."""
    ident = identity_mod.load(path, ask_passphrase)
    return ident.recipient, signing.for_identity(ident).line(f"cpcm:{worker_id}" if worker_id else "cpcm")


def _check_signing_key(line: str, field_name: str = "signing-key") -> str:
    try:
        return signing.canonical(line)
    except ValueError as exc:
        raise InvalidInput([FieldError(field_name, str(exc))], field_name) from None


def _key_taken(team: Team, key: str, worker_id: str) -> None:
    found = team.signer(key)
    if found is not None and found[0].id != worker_id:
        raise Refused("that signing key already belongs to another worker", "Each worker signs with a key of their own.",
                      rule="signing-key-exists")


@writes
def key_publish(ctx: Context, worker_id: str | None = None, line: str = "") -> Written:
    """Record a signing key in the team: your own (derived from your identity), once, when none is
    recorded for you (trust on first use: docs/security.md); or, by a supervisor or manager, the
    key of a worker who has none recorded (the line their `cpcm key show` prints)."""
    actor = ctx.need_worker()
    target_id = worker_id or actor.id
    if target_id == actor.id and not line:
        key = signing.for_identity(ctx.identity).line()
    else:
        if target_id != actor.id and not actor.has_role(*OVERSIGHT):
            raise Refused("only a supervisor or manager records another worker's signing key", rule="team-change-needs-supervisor")
        if not line:
            raise UsageError("--signing-key: give the worker's line from cpcm key show (ssh-ed25519 AAAA...)")
        key = _check_signing_key(line)
        if target_id == actor.id and key != signing.for_identity(ctx.identity).line():
            raise Refused("--signing-key: that is not the key of your identity", "Leave --signing-key out to record your own.",
                          rule="signing-key-not-yours")
    target = ctx.team.get(target_id)
    if target is None:
        raise NotFound("no active worker by that id in the team", "See cpcm team list.")
    if target.signing_key is not None:  # one in use (a rotation without the new line ends it)
        raise Refused(f"worker '{target_id}' already has a signing key recorded",
                      "A signing key is recorded once for a worker; see cpcm team list --json.", rule="signing-key-recorded")
    _key_taken(ctx.team, key, target_id)
    team = Team(tuple(w.with_signing_key(key, clock.iso(ctx.now)) if w.id == target_id else w for w in ctx.team.workers))
    with transaction(ctx, "key-publish") as tx:
        tx.replace_file(TEAM, team_bytes(team))
        tx.commit(f"key publish {target_id}")
    ctx.team = team
    return Written(None, extra={"worker": target_id, "signing_key": key}, json_keys=())


def unlock(path: Path, ask_passphrase: Callable[[], str | None], seconds: int, program: str = "cpcm.crypto.agent") -> str:
    """Decrypt the identity once and hand it to an agent that holds it in memory for `seconds`
    (`cpcm lock` or a suspend ends it sooner); returns its recipient. `program`: the agent's
    module (`cpcm.cli.resident` also runs commands)."""
    from cpcm.crypto import agent

    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    if data and not identity_mod.is_protected(data):
        raise Refused("the identity has no passphrase: there is nothing to unlock", "cpcm unlock is for a passphrase-protected key.",
                      rule="unlock-unprotected")
    identity = identity_mod.load(path, ask_passphrase, held=False)  # unlocked already or not: the passphrase again
    try:
        agent.start(path, agent.held_text(identity_mod.secret_text(identity), data), seconds, program)
    except OSError as exc:
        raise Refused(f"the agent could not start: {exc}", "Commands still work; each asks for the passphrase.", rule="agent-failed") from None
    return identity.recipient


def lock(path: Path) -> bool | None:
    """Make the agent forget the identity; True when one held it, None when it is running a
    command for longer than agent.LOCK_WAIT (it forgets it as soon as that command is done)."""
    from cpcm.crypto import agent

    return agent.lock(path)


def unlocked_for(path: Path) -> int | None:
    """Seconds until the agent forgets the identity, or None when it is locked."""
    from cpcm.crypto import agent

    return agent.status(path)


def init(root: Path, agency_code: str, agency_name: str, worker_id: str, worker_name: str, roles: Iterable[str],
         recipient: str, now: datetime, policy: str = "inter-agency", language: str = "en",
         recovery_recipients: Iterable[str] = (), timezone: str | None = None, signer=None,
         recovery_signing_keys: Iterable[str] = (), cadre: str = "") -> Config:
    """A new casefile repository with one worker. `timezone`: the agency's IANA time zone
    (default: the system's, else UTC). `signer`: the founder's signing key (crypto/signing.py),
    recorded in the team and signing the first commit. `cadre`: the founder's job category
    (CADRES; "": not known), as `team_add` takes it."""
    # an init stopped before its commit: its settings written, or (stopped sooner) its git and its cases folder made
    unfinished = ((root / CONFIG).exists() or ((root / ".git").exists() and (root / CASES).is_dir())) and not _init_committed(root)
    if unfinished and _left_by_init(root)[1]:
        raise Refused(f"{root} holds a cpcm init that did not finish (it made no commit) and files that are not init's",
                      "Move the other files out of the folder and run cpcm init again (it starts over), or choose an "
                      "empty or new folder for the casefile repository.", rule="init-not-empty")
    if (root / CONFIG).exists() and not unfinished:
        raise Refused(f"{root} is already a casefile repository", "Use it as it is; cpcm init never overwrites one.", rule="init-exists")
    there = next((p for p in (root, *root.parents) if p.exists()), None)  # the path itself, or the folder to make it in
    if there is not None and not there.is_dir():
        raise Refused(f"{there} is a file, not a folder", "Choose an empty or new folder for the casefile repository.",
                      rule="init-not-empty")
    if not unfinished and root.exists() and any(p.name not in (".git",) for p in root.iterdir()):
        raise Refused(f"{root} is not empty", "Choose an empty or new folder for the casefile repository.", rule="init-not-empty")
    if not AGENCY_CODE.match(agency_code):
        raise InvalidInput([FieldError("agency", "use letters, digits, '.', '_' or '-', at most 32")], "agency code")
    _check_worker_fields(worker_id, roles, recipient, cadre)
    for extra in recovery_recipients:
        _check_recipient(extra, "recovery")
    recovery_signing_keys = tuple(_check_signing_key(k, "recovery-signing-key") for k in recovery_signing_keys)
    check_policy_name(policy)
    zone_name = (timezone or "").strip() or clock.system_zone_name()
    try:
        zone = clock.check_zone_name(zone_name, "timezone")
    except UsageError:
        raise InvalidInput([FieldError("timezone", "is not a known IANA time zone name (e.g. Africa/Nairobi, UTC)")],
                           "time zone") from None
    now = now.astimezone(zone)  # the times init records, in the agency's zone as every later command's
    config = Config(agency_code=agency_code, agency_name=agency_name, policy=policy, language=language,
                    recovery_recipients=tuple(recovery_recipients), timezone=zone_name, recovery_signing_keys=recovery_signing_keys,
                    policy_since=clock.iso(now))  # the profile is in force from the start
    worker = Worker(id=worker_id, name=worker_name or worker_id, roles=tuple(dict.fromkeys(roles)), recipient=recipient,
                    since=clock.iso(now), cadre=cadre)
    if signer is not None:
        worker = worker.with_signing_key(signer.line(), clock.iso(now))
    root.mkdir(parents=True, exist_ok=True)
    git = Git(root, signer, clock.commit_date(now))
    if unfinished:  # an init stopped before its commit (killed, the power gone): it starts over, as it was given now
        _remove_index_lock(root)  # its git's, killed while it staged the files
        _undo_init(root, git, _left_by_init(root)[0])
    if not (root / ".git").exists():
        git.init()
    (root / CASES).mkdir(exist_ok=True)
    files = {
        CONFIG: config_bytes(config), TEAM: team_bytes(Team((worker,))),
        ".gitignore": GITIGNORE.encode(), ".gitattributes": GITATTRIBUTES.encode(),
        f"{CASES}/.keep": b"",
    }
    try:
        for rel, data in files.items():
            atomic.write(root / rel, data)
        git.commit(list(files), f"init {agency_code}", worker.name, commit_email(config, worker))
    except BaseException:
        _undo_init(root, git, files)
        raise
    return config


# the files `init` writes, in its one commit
INIT_FILES = (CONFIG, TEAM, ".gitignore", ".gitattributes", f"{CASES}/.keep")


def _init_committed(root: Path) -> bool:
    """Whether init's commit was made in `root`: the last commit holds its settings. A folder whose
    .cpcm/config.yaml no commit holds is an init stopped before its commit (killed, the power gone,
    a full disk), which a later init finishes."""
    if not (root / ".git").exists():
        return False
    git = Git(root)
    if git.head() is None:
        return False
    return bool(git.run(["ls-tree", "--name-only", "HEAD", "--", CONFIG]).strip())


def _left_by_init(root: Path) -> tuple[list[str], list[str]]:
    """The files in `root` outside .git: those an interrupted init leaves (its files and temp files;
    a command's lock file is let be), and the others (a person's: a folder as `NAME/`), which a later
    init never removes."""
    own, others = [], []
    for folder, folders, names in os.walk(root):
        at = os.path.relpath(folder, root).replace(os.sep, "/")
        under = "" if at == "." else at + "/"
        for name in names:
            rel = under + name
            if rel in INIT_FILES or name.startswith(TMP_PREFIX):
                own.append(rel)
            elif rel != LOCK:
                others.append(rel)
        kept = [name for name in folders if any(f.startswith(under + name + "/") for f in INIT_FILES)]
        others += [under + name + "/" for name in folders if name not in kept and not (at == "." and name == ".git")]
        folders[:] = kept
    return own, others


def _remove_index_lock(root: Path) -> None:
    try:
        os.unlink(root / INDEX_LOCK)
    except FileNotFoundError:
        pass


def _undo_init(root: Path, git: Git, files: Iterable[str]) -> None:
    """Take back the files a refused or failed `init` wrote and staged (the folder as it was: a
    file a person staged there stays staged)."""
    try:
        git.run(["rm", "-q", "--cached", "--ignore-unmatch", "--", *files])
    except Exception:
        pass  # no index yet, or git failing: the files still go
    for rel in files:
        try:
            atomic.remove_file(root, rel)  # and a folder init made, when left empty
        except OSError:
            pass


def check_policy_name(policy: str) -> None:
    from cpcm.domain import profiles as policy_mod  # noqa: F401  (lazy: only init needs it here)

    if policy not in policy_mod.PROFILES:
        raise InvalidInput([FieldError("policy", f"is one of: {', '.join(policy_mod.PROFILES)}")], "policy")


def _check_recipient(recipient: str, field_name: str = "recipient") -> None:
    try:
        cipher.parse_recipient(recipient)
    except ValueError as exc:
        raise InvalidInput([FieldError(field_name, str(exc))], field_name) from None


def _check_worker_fields(worker_id: str, roles: Iterable[str], recipient: str, cadre: str = "") -> None:
    """A new worker's fields (`init`'s first worker, `team_add`'s): every bad one named at once."""
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
    errors += _cadre_errors(cadre)
    if errors:
        raise InvalidInput(errors, "worker")


def _need_team_manager(ctx: Context) -> Worker:
    actor = ctx.need_worker()
    overseers = [w for w in ctx.team.active if w.has_role("supervisor", "manager")]
    if overseers and not actor.has_role("supervisor", "manager"):
        raise Refused("only a supervisor or manager changes the team", f"Ask {', '.join(w.id for w in overseers)}.", rule="team-change-needs-supervisor")
    return actor


@writes
def team_add(ctx: Context, worker_id: str, roles: Iterable[str], recipient: str, name: str = "",
             signing_key: str = "", cadre: str = "") -> Written:
    """Add a worker; `signing_key`: their public signing key (the ssh-ed25519 line `cpcm key show
    --signing` prints), else they record it themselves with `cpcm key publish`; `cadre`: their job
    category (CADRES; "" : not known)."""
    actor = _need_team_manager(ctx)
    roles = list(dict.fromkeys(roles))
    _check_worker_fields(worker_id, roles, recipient, cadre)
    key = _check_signing_key(signing_key) if signing_key else ""
    if ctx.team.get(worker_id, include_removed=True):
        raise Refused(f"worker '{worker_id}' is already in the team", "Choose another id; ids are never reused.", rule="worker-exists")
    # a key is never accepted again, for anyone: not a removed worker's (a lost laptop's), not a past key, not a recovery key
    if ctx.team.key_owner(recipient) is not None or recipient in ctx.config.recovery_recipients:
        raise Refused("that recipient is (or was) the key of a worker in the team, or an agency recovery key",
                      "Each worker has a key of their own, never used before: they make one with cpcm key new.",
                      rule="recipient-exists")
    worker = Worker(id=worker_id, name=name or worker_id, roles=tuple(roles), recipient=recipient, since=clock.iso(ctx.now),
                    cadre=cadre)
    if key:
        _key_taken(ctx.team, key, worker_id)
        worker = worker.with_signing_key(key, clock.iso(ctx.now))
    team = Team(ctx.team.workers + (worker,))
    written = _change_team(ctx, actor, team, f"team add {worker_id}")
    from dataclasses import replace

    from cpcm.workflow.supervision import ratio_warning

    # more caseworkers per supervisor than the policy's ratio (IAG §2: about 1 for 5-6): a warning, never a refusal
    ratio = ratio_warning(team, ctx.policy)
    # without a signing key their commits are unknown-signer to other copies (so not pushed) until it is recorded
    steps = () if key else (f"no signing key is recorded for '{worker_id}' yet: they run cpcm key publish once (until then "
                            f"their cpcm sync pushes nothing they write), or you record it: cpcm key publish --worker {worker_id} "
                            "--signing-key LINE (the line their cpcm key show --signing prints)",)
    return replace(written, warnings=(ratio,) if ratio else (), next_steps=steps, json_keys=("next_steps",))


def _cadre_errors(cadre: str, required: bool = False) -> list[FieldError]:
    """The one check of a worker's cadre (`init --cadre`, `team add --cadre`, `team cadre`): one of
    CADRES, or "" (not known) where it is not `required`."""
    if (cadre or required) and cadre not in CADRES:
        return [FieldError("cadre", f"is one of: {', '.join(CADRES)} (a job category: ESARO N2's workforce registry)")]
    return []


def _check_cadre(cadre: str, required: bool = False) -> None:
    errors = _cadre_errors(cadre, required)
    if errors:
        raise InvalidInput(errors, "worker")


@writes
def team_cadre(ctx: Context, worker_id: str, cadre: str) -> Written:
    """Set an active worker's cadre (their job category, CADRES): one commit `team cadre WORKER CADRE`, by a
    supervisor or manager. What it makes of their open cases: `rules.check_cadres` (each case now above what the
    cadre may hold is named in `extra["above"]`, and is on `cpcm due` as `cadre-escalation` until it is reassigned
    or its risk falls)."""
    actor = _need_team_manager(ctx)
    _check_cadre(cadre, required=True)
    worker = ctx.team.get(worker_id)
    if worker is None:
        raise NotFound("worker: no active worker by that id in the team", "See cpcm team list.")
    if worker.cadre == cadre:
        raise Refused(f"'{worker_id}' is a {cadre_words(cadre)} already", rule="cadre-unchanged")
    before = worker.cadre
    team = Team(tuple(replace(w, cadre=cadre) if w.id == worker_id else w for w in ctx.team.workers))
    written = _change_team(ctx, actor, team, f"team cadre {worker_id} {cadre}")
    from cpcm.workflow import rules

    above = sorted(p.case_id for p in rules.check_cadres(CaseStream(ctx), team, ctx.policy) if p.worker == worker_id)  # a case at a time
    return replace(written, extra={**written.extra, "worker": worker_id, "cadre": cadre, "before": before or None,
                                   "above": above})


def _check_removable(ctx: Context, worker_id: str, lost: bool = False) -> tuple[list, list[str]]:
    """Refused for the team's last worker, a manager without whom cases restricted to the managers would
    be read by none (`_check_last_manager`; never for a lost key, `team revoke`), or one still assigned open cases;
    else their cases (folded), and the open cases of others whose keyworker they are (nobody's point of contact once
    they leave: `cpcm check` says so, keyworker-off-team)."""
    if len(ctx.team.active) == 1:
        raise Refused("the last worker of a team cannot be removed", rule="team-last-worker")
    if not lost:
        _check_last_manager(ctx, worker_id)
    theirs, assigned, keyworker_of = [], [], []
    for c in CaseStream(ctx):  # a case at a time: of theirs, the open ones' IDs and the others held
        if c.worker == worker_id and c.status == "open":
            assigned.append(c.id)
        elif c.worker == worker_id:
            theirs.append(c)
        elif c.status == "open" and c.keyworker == worker_id:
            keyworker_of.append(c.id)
    theirs.sort(key=lambda c: c.id)
    assigned.sort()
    keyworker_of.sort()
    if assigned:
        raise Refused(
            f"worker '{worker_id}' is assigned {len(assigned)} open case(s): {', '.join(assigned[:5])}{'…' if len(assigned) > 5 else ''}",
            f"Assign them to someone else first: cpcm assign CASE --worker OTHER, or all of them in one commit: cpcm assign "
            f"--from-worker {worker_id} --worker OTHER (or cpcm assign --batch FILE) "
            f"(cpcm list --worker {worker_id} lists them all, with what is due on each: cpcm due --worker " + worker_id + ")",
            rule="worker-has-cases",
        )
    return theirs, keyworker_of


def restricted_left(ctx: Context, worker_id: str) -> list[str]:
    """The cases restricted to the managers (`cpcm retention --restrict`) that no active manager but the manager
    `worker_id` reads (workflow/retention.py `left_to_no_manager`), told from the `recipients` files, which every
    worker reads (case IDs only); none for a worker who is not a manager."""
    worker = ctx.team.get(worker_id)
    if worker is None or not worker.has_role("manager"):
        return []
    readers = {case_id: ctx.store.recipients(case_id) for case_id in ctx.store.case_ids() if case_restricted(ctx, case_id)}
    return retention_rules.left_to_no_manager(readers, ctx.team.managers(), worker_id)


def after_last_manager(ctx: Context, done: bool) -> str:
    """Who reads the cases `restricted_left` names once their last manager is off the team (`done`: is, else would be)."""
    if ctx.config.recovery_recipients:
        return f"the agency's recovery keys alone {'read' if done else 'would read'} them"
    return f"nobody {'can' if done else 'could'} read them (the agency has no recovery key)"


def _restricted_words(left: list[str], more: str = "") -> tuple[str, str, str]:
    """How a message names the cases `restricted_left` found: (their count in words, the verb's
    number, "is" or "are", the first five case IDs, `more` after them where there are others)."""
    count = f"{len(left)} case{'' if len(left) == 1 else 's'} restricted to the managers (cpcm retention --restrict)"
    return count, "is" if len(left) == 1 else "are", ", ".join(left[:5]) + (f"…{more}" if len(left) > 5 else "")


def _check_last_manager(ctx: Context, worker_id: str) -> None:
    """Refused (`team-last-manager`) when taking the manager `worker_id` off the team (`team remove`) would leave
    cases restricted to the managers read by no active manager (`restricted_left`): the agency's recovery keys alone
    would read them, or nobody. A team with no restricted case, or another manager reading each, is not refused.
    A lost key (`team revoke`) is never refused: it cannot give the cases to anyone, and while it stays on the team
    every new record is encrypted to it; its revocation warns of them instead."""
    left = restricted_left(ctx, worker_id)
    if not left:
        return
    others = [m for m in ctx.team.managers() if m != worker_id]
    count, verb, shown = _restricted_words(left)
    after = after_last_manager(ctx, done=False)
    if others:
        what = f"{count} {verb} read by no active manager but '{worker_id}': {shown}"
        hint = (f"'{worker_id}' runs cpcm team sync first, which gives them to the other managers ({', '.join(others)}); "
                "then run this again. Nothing was written.")
    else:
        what = f"'{worker_id}' is the team's last active manager, and {count} {verb} read by them: {shown}"
        hint = ("Add another manager first: cpcm team add WORKER --role manager --recipient age1... --signing-key "
                f"\"ssh-ed25519 ...\" (where the one adding them cannot read these cases, '{worker_id}' "
                "then runs cpcm team sync, which gives them to the new manager); then run this again. Nothing was written.")
    raise Refused(f"{what}; once '{worker_id}' is off the team, {after}", hint, rule="team-last-manager")


@writes
def team_remove(ctx: Context, worker_id: str) -> Written:
    actor = _need_team_manager(ctx)
    worker = ctx.team.get(worker_id)
    if worker is None:
        raise NotFound("no active worker by that id in the team", "See cpcm team list.")
    theirs, keyworker_of = _check_removable(ctx, worker_id)
    removed = replace(worker, removed=clock.iso(ctx.now))
    team = Team(tuple(removed if w.id == worker_id else w for w in ctx.team.workers))
    written = _change_team(ctx, actor, team, f"team remove {worker_id}")
    written.extra["keyworker_of"] = keyworker_of
    written.extra["visits_left"] = _visits_left(ctx, theirs, team)
    written.extra["receipts_left"] = _receipts_left(ctx, theirs, team)
    written.extra["cache"] = _forget_cache(ctx, worker_id)
    written.extra["signing_key_recorded"] = bool(worker.signing_keys)
    return written


def _forget_cache(ctx: Context, worker_id: str) -> str:
    """The removed worker's cache on this computer deleted (store.cache.forget_worker): "deleted",
    "none" or "left"; their other computers' copies are theirs to delete (docs/security.md)."""
    if ctx.root is None:
        return "none"
    from cpcm.store.cache import forget_worker

    return forget_worker(ctx.root, worker_id)


def _visits_left(ctx: Context, theirs: list, team: Team) -> list[str]:
    """The removed worker's closed cases (of `theirs`) whose post-closure visit is still to make:
    nobody's from now on (rules.unattended), so on the supervisors' `cpcm due` until one of them
    records it; said when the worker is removed rather than found later by `cpcm check`."""
    gone = off_team(team)
    return sorted(c.id for c in theirs if c.status == "closed" and unattended(c, gone, ctx.policy, ctx.now))


def _receipts_left(ctx: Context, theirs: list, team: Team) -> list[str]:
    """The removed worker's transferred cases (of `theirs`) whose receiving agency's receipt is still to
    come (deadlines._transfer_ack): nobody's from now on, so on the supervisors' `cpcm due` until one
    of them records it (or reopens the case), as `_visits_left`."""
    gone = off_team(team)
    return sorted(c.id for c in theirs if c.status == "transferred" and unattended(c, gone, ctx.policy, ctx.now))


@writes
def team_revoke(ctx: Context, worker_id: str, since: datetime | None = None) -> Written:
    """A lost or stolen laptop: remove the worker (as `team_remove`, with re-encryption) and revoke
    their signing keys from `since` (default now): a commit signed by them at or after it is
    refused by sync and reported by verify. Not from before their first key (`revocable_from`), nor at or
    before a commit of theirs this copy holds (`_held_after`): now counts from after those."""
    actor = _need_team_manager(ctx)
    worker = ctx.team.get(worker_id, include_removed=True)
    if worker is None:
        raise NotFound("no worker by that id in the team", "See cpcm team list --all.")
    moment = clock.iso(since or ctx.now)
    if since is not None and since > ctx.now:
        raise InvalidInput([FieldError("--from", "must not be later than now")], "the revocation")
    first = team_rules.revocable_from(worker)
    if since is not None and first and since.timestamp() < datetime.fromisoformat(first).timestamp():
        raise InvalidInput([FieldError("--from", f"must not be earlier than {first}, when the team recorded "
                                                 f"{worker_id}'s signing key: an earlier one names no commit of theirs")],
                           "the revocation")
    theirs, keyworker_of, restricted = [], [], []
    removed_now = worker.active  # a worker removed already: their keys only (the removal stands as it was)
    if worker.active:
        if worker.id == actor.id:
            raise Refused("you cannot revoke your own key", "Ask another supervisor or manager.", rule="revoke-self")
        theirs, keyworker_of = _check_removable(ctx, worker_id, lost=True)
        restricted = restricted_left(ctx, worker_id)
        worker = replace(worker, removed=clock.iso(ctx.now))
    revoked = worker.revoke_signing_keys(moment)
    held = _held_after(ctx, worker, revoked, moment)
    if held and since is not None:
        raise _revoking_held(ctx, worker_id, held, moment)
    if held:  # now, and a commit this copy holds dated as late (the same second, or their laptop's clock ahead)
        moment = clock.iso(_after_held(ctx, held))
        revoked = worker.revoke_signing_keys(moment)
    if revoked == ctx.team.get(worker_id, include_removed=True):  # revoked already, from as early: nothing to record
        raise Refused(f"{worker_id}'s signing key is already revoked, from {revoked.revoked_from}: every sync refuses what it signs "
                      "from then (revoked-key); nothing was written",
                      f"A commit of theirs dated before that and taken in after the removal is named by the sync and by "
                      f"cpcm verify (signed-after-removal): look at what it records (cpcm log CASE) and correct it where "
                      f"{worker_id} did not write it (docs/security.md#a-lost-laptop-team-revoke).", rule="already-revoked")
    team = Team(tuple(revoked if w.id == worker_id else w for w in ctx.team.workers))
    result = _change_team(ctx, actor, team, f"team revoke {worker_id}")
    result.extra["keyworker_of"] = keyworker_of
    result.extra["visits_left"] = _visits_left(ctx, theirs, team)
    result.extra["receipts_left"] = _receipts_left(ctx, theirs, team)
    result.extra["cache"] = _forget_cache(ctx, worker_id)
    result.extra["revoked_from"] = moment
    result.extra["signing_keys_revoked"] = len(revoked.signing_keys)
    result.extra["removed_now"] = removed_now
    result.extra["removed"] = revoked.removed
    result.extra["restricted_left"] = restricted
    if restricted:
        count, verb, shown = _restricted_words(restricted, " (all of them in --json: restricted_left)")
        told = (f"{count} {'was' if verb == 'is' else 'were'} read by no active manager but '{worker_id}': "
                f"{shown}; now {after_last_manager(ctx, done=True)} (docs/security.md, 'A lost laptop')")
        result = replace(result, warnings=(*result.warnings, told))
    ahead = datetime.fromisoformat(moment) - ctx.now
    if held and ahead > CLOCK_SLACK:  # dated ahead of now by their laptop's clock: the key still signs until then
        result = replace(result, warnings=(*result.warnings, (
            f"{worker_id}'s key is revoked only from {moment}, after commit {held[-1][0][:10]} of theirs this copy holds, "
            f"dated ahead of now by their laptop's clock: until then what the key signs is still taken in, so check "
            f"every commit that arrives signed by {worker_id} (cpcm verify; docs/security.md#a-lost-laptop-team-revoke)")))
    return result


# how far ahead of now a commit held may be dated for a revocation from now to count from after it without a word
CLOCK_SLACK = timedelta(minutes=10)


def _held_after(ctx: Context, worker: Worker, revoked: Worker, moment: str) -> list[tuple[str, int]]:
    """The commits this copy holds (its history) signed with a key of `worker` that `revoked` revokes from
    `moment`, dated at or after it ((sha, unix time), oldest first). A revocation counts from its date (domain/team.py
    `key_standing`), and a commit this copy holds stays in its history whatever a revocation says after: revoked
    from before one of them, the copy's own history would fail `cpcm verify` (revoked-key) and no shared place, old
    or new, would take it (sync.py `_unpublished`). They were taken in and verified before the revocation: what the
    lost key may still sign is what arrives after it."""
    keys = {k.key for k, new in zip(worker.signing_keys, revoked.signing_keys) if k.revoked != new.revoked}
    git = getattr(ctx.store, "git", None)
    if not keys or git is None or git.head() is None:
        return []
    from cpcm.store import audit

    return audit.signed_from(ctx.root, keys, datetime.fromisoformat(moment).timestamp(), git.rev)


def _after_held(ctx: Context, held: list[tuple[str, int]]) -> datetime:
    """The second after the last of the commits `held` (`_held_after`)."""
    return datetime.fromtimestamp(held[-1][1] + 1, ctx.zone)


def _revoking_held(ctx: Context, worker_id: str, held: list[tuple[str, int]], moment: str) -> Refused:
    """`team revoke --from` at or before commits this copy holds (`_held_after`): refused, naming them (short id
    and date), and the date after them."""
    listed = ", ".join(f"{sha[:10]} ({clock.iso(datetime.fromtimestamp(when, ctx.zone))})" for sha, when in held[:10])
    after = _after_held(ctx, held)
    instead = f"--from {clock.iso(after)}" if after <= ctx.now else "no --from: it then counts from after them"
    return Refused(
        f"this copy holds {len(held)} commit(s) signed with {worker_id}'s key and dated at or after {moment}: "
        f"{listed}{' …' if len(held) > 10 else ''}; revoked from then, its own history would fail cpcm verify "
        "(revoked-key) and no shared place would take it",
        f"They are history this copy took in before the revocation: revoke from after the last of them ({instead}). "
        "Where the laptop was lost before one of them, revoke from after them all the same, and look at what each "
        f"records (cpcm log CASE; git show --stat ID): a correction or a note puts right what {worker_id} did not "
        "write (docs/security.md#a-lost-laptop-team-revoke).", rule="revoke-before-held")


def team_signers(ctx: Context) -> str:
    """The team's allowed-signers file (git's `gpg.ssh.allowedSignersFile` format): each worker's
    signing keys, with the dates each is valid, so that plain git checks cpcm's commits:
    git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=FILE verify-commit COMMIT"""
    lines = ["# cpcm team signers: git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=THIS-FILE verify-commit COMMIT"]
    for worker in ctx.team.workers:
        for entry in worker.signing_keys:
            options = ['namespaces="git"']
            if entry.since:
                options.append(f'valid-after="{_signers_time(entry.since)}"')
            ends = [e for e in (entry.revoked, entry.until, worker.removed) if e]
            if ends:
                options.append(f'valid-before="{min(_signers_time(e) for e in ends)}"')
            lines.append(f"{commit_email(ctx.config, worker)} {','.join(options)} {entry.key}")
    return "\n".join(lines) + "\n"


def _signers_time(moment: str) -> str:
    """An allowed-signers time: YYYYMMDDHHMMSSZ in UTC (ssh-keygen reads a trailing Z as UTC)."""
    from datetime import timezone

    return datetime.fromisoformat(moment).astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ")


def _change_team(ctx: Context, actor: Worker, team: Team, message: str) -> Written:
    """Write the new team and re-encrypt every case and conference whose readers change, in one
    commit."""
    old_team, ctx.team = ctx.team, team
    try:
        with transaction(ctx, message.split()[0] + "-" + message.split()[1]) as tx:
            tx.replace_file(TEAM, team_bytes(team))
            skipped = _reencrypt_all(ctx, tx, ctx.store.case_ids())
            conferences, not_conferences = _reencrypt_conferences(ctx, tx)
            complaints = _reencrypt_complaints(ctx, tx)
            confidential = _reencrypt_confidential(ctx, tx)
            tx.commit(message)
    except BaseException:
        ctx.team = old_team  # nothing written: the session goes on with the team as it is (as key_rotate does)
        raise
    return Written(None, extra={"team": [w.to_dict() for w in team.active],
                                "not_reencrypted": skipped + not_conferences,
                                "conferences_reencrypted": conferences, "complaints_reencrypted": complaints,
                                "confidential_reencrypted": confidential}, json_keys=())


@writes
def team_sync(ctx: Context) -> Written:
    """Re-encrypt every case and conference you can read whose recipients differ from what the
    team needs."""
    ctx.need_worker()  # a member of the team, or refused
    damaged: list[dict[str, str]] = []  # record files no key opens, left as they are (only of folders you read)
    with transaction(ctx, "team-sync") as tx:
        skipped = _reencrypt_all(ctx, tx, ctx.store.case_ids(), damaged)
        changed = len([p for p in tx.written if (split := split_rel(p)) and split[0] == CASES and split[2] == RECIPIENTS])
        conferences, not_conferences = _reencrypt_conferences(ctx, tx, damaged)
        sessions = _reencrypt_supervision(ctx, tx, damaged)
        complaints = _reencrypt_complaints(ctx, tx, damaged)
        confidential = _reencrypt_confidential(ctx, tx, damaged)
        if tx.written:
            # the message is read by every copy: it never counts complaints or strictly confidential entries
            # (a worker a complaint is about, or one an entry excludes, would learn that one exists)
            tx.commit(f"team sync {changed} cases" + (f" {len(conferences)} conferences" if conferences else ""))
    return Written(None, extra={"reencrypted": changed, "conferences_reencrypted": len(conferences),
                                "supervision_reencrypted": len(sessions),
                                "complaints_reencrypted": len(complaints), "confidential_reencrypted": len(confidential),
                                "not_reencrypted": skipped + not_conferences,
                                "damaged": [{**each, "restorable": ctx.store.restorable(each["file"])} for each in damaged]},
                   json_keys=())


def _reencrypt_supervision(ctx: Context, tx, damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Encrypt again to the keys as they are now each supervision session you took part in whose
    `recipients` file says its records are still encrypted to an earlier key of one of its readers
    (its `# rekey:` lines: a key change made by someone who could not read it), and take the lines
    off; its readers never change (service/supervision.py). Returns the sessions done; one you did
    not take part in is never named. A damaged record of one (no key opens it) is left as it is and
    added to `damaged` (`context.reencrypt`); one your key does not open leaves the session for
    another who took part in it."""
    from cpcm.errors import CannotDecrypt
    from cpcm.service.context import damaged_left, rekey_kept
    from cpcm.store.layout import SUPERVISION

    done = []
    me = ctx.need_worker()
    for session_id in ctx.store.case_ids(SUPERVISION):
        readers, rekey = ctx.store.recipients_rekey(session_id, SUPERVISION)
        if not rekey or me.id not in readers:
            continue
        try:
            left = tx.reencrypt_records(ctx.store.record_files(session_id, SUPERVISION), ctx.keys, keys_for(ctx, readers))
        except (cipher.NotARecipient, CannotDecrypt):
            continue  # left for another who took part in it: nothing of it was written
        rel = f"{folder_rel(SUPERVISION, session_id)}/{RECIPIENTS}"
        tx.replace_file(rel, with_rekey(ctx.store.read_bytes(ctx.store.root / rel), rekey_kept(ctx, session_id, SUPERVISION, left)))
        if damaged is not None:
            damaged += damaged_left(session_id, left)
        done.append(session_id)
    return done


def _reencrypt_complaints(ctx: Context, tx, damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Bring each complaint's readers in line with the team (service/complaints.py: the worker who
    recorded it and every supervisor and manager, never a worker it is about)."""
    from cpcm.service import complaints

    return complaints.reencrypt_all(ctx, tx, damaged)


def _reencrypt_confidential(ctx: Context, tx, damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Bring each strictly confidential entry's readers in line with the team
    (service/confidential.py: the worker who wrote it and every supervisor and manager it does not
    exclude)."""
    from cpcm.service import confidential

    return confidential.reencrypt_all(ctx, tx, damaged)


def _reencrypt_conferences(ctx: Context, tx, damaged: list[dict[str, str]] | None = None) -> tuple[list[str], list[str]]:
    """Bring each conference's readers, and the confidentiality register's, in line with the team
    (workflow/conferences.py: the chair, the workers of its cases and every supervisor and manager;
    the register: every active member). Returns the folders re-encrypted, and those that need it
    but that you cannot read (judged from their `recipients` alone). One whose `# rekey:` lines ask
    for it but whose readers cannot be worked out from its records (a damaged one) is encrypted
    again to its readers as listed (`readers_as_listed`), the damaged record left as it is and added to
    `damaged` (`context.reencrypt`)."""
    from cpcm.errors import CannotDecrypt, Corrupt
    from cpcm.service import conferences
    from cpcm.service.context import damaged_left
    from cpcm.store.casestore import CONFERENCES
    from cpcm.workflow import conferences as conference_rules

    done, skipped = [], []
    for conference_id in ctx.store.case_ids(CONFERENCES):
        current, rekey = ctx.store.recipients_rekey(conference_id, CONFERENCES)
        wanted = None
        if ctx.worker.id in current:
            try:
                wanted = conferences.readers_now(ctx, conference_id)
            except CannotDecrypt:
                pass  # a record you cannot read: left, as for a case
            except Corrupt:
                if rekey:  # a damaged record: its readers as listed, to the keys as they are now (cpcm verify names it)
                    wanted = conference_rules.readers_as_listed(ctx.team, conference_id, current) or current
        if wanted is None:
            if conference_rules.readers_as_listed(ctx.team, conference_id, current) != current:
                skipped.append(conference_id)
            continue
        if wanted != current or rekey:  # `# rekey:` lines: records still encrypted to an earlier key of a reader
            try:
                left = reencrypt(ctx, tx, conference_id, wanted, CONFERENCES)
            except (cipher.NotARecipient, CannotDecrypt):
                skipped.append(conference_id)  # a record not encrypted to your key: nothing of it was written
                continue
            if damaged is not None:
                damaged += damaged_left(conference_id, left)
            done.append(conference_id)
    return done, skipped


def _reencrypt_all(ctx: Context, tx, case_ids: Iterable[str], damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Bring each case's recipients in line with the team (its first reader is its worker) and
    its covers (one whose time has passed is taken off: workflow/cover.py), and a case you read whose
    file has `# rekey:` lines to the keys as they are now (the lines go); returns the cases that need
    it but that you cannot read (one with a record not encrypted to your key among them: nothing of
    it is written). A damaged record (no key opens it) is left as it is, the rest of its case done,
    and added to `damaged` (`context.reencrypt`)."""
    from cpcm.errors import CannotDecrypt
    from cpcm.service.context import damaged_left

    skipped = []
    for case_id in case_ids:
        current, rekey = ctx.store.recipients_rekey(case_id, CASES)
        covers = case_covers(ctx, case_id)
        restricted = case_restricted(ctx, case_id)  # a closed case restricted to the managers stays so (cpcm retention)
        wanted, kept = cover_rules.access(ctx.team, current[0] if current else None, covers, ctx.now, restricted)
        if wanted == current and kept == covers and (not rekey or ctx.worker.id not in current or ctx.worker.id in rekey):
            # in line; `# rekey:` lines (records still encrypted to an earlier key of a reader) are for its other readers to end
            continue
        if ctx.worker.id not in current:
            skipped.append(case_id)
            continue
        try:
            left = reencrypt(ctx, tx, case_id, wanted, covers=kept, restricted=restricted)
        except (cipher.NotARecipient, CannotDecrypt):
            skipped.append(case_id)  # a record not encrypted to your key: for a reader it is encrypted to
            continue
        if damaged is not None:
            damaged += damaged_left(case_id, left)
    return skipped


def team_list(ctx: Context, include_removed: bool = False) -> list[dict]:
    """The team, each worker with when their latest work that this copy holds was made
    (`last_commit_at`) and their latest sync that made a commit (`last_sync_at`: a merge, or a
    fast-forward's re-encryption), None where there is none (`last_work`)."""
    workers = ctx.team.workers if include_removed else ctx.team.active
    latest = last_work(ctx)
    rows = []
    for worker in workers:
        work, synced = latest.get(worker.id, (None, None))
        rows.append({**worker.to_dict(), "cadre": worker.cadre or None, "last_commit_at": work and clock.iso(work), "last_sync_at": synced and clock.iso(synced)})
    return rows


def last_work(ctx: Context) -> dict[str, tuple[datetime, datetime | None]]:
    """worker id -> (when their latest commit in this copy's history was made, when their latest
    sync commit was, a sync's merge or re-encryption, or None), in the agency's zone; from one
    `git log` of the commits made since the last look (`audit.latest_by_worker`). The times are the
    commits' dates: what the clock of the laptop that made each said. Empty for a store with no git
    history."""
    git = getattr(ctx.store, "git", None)
    if git is None or git.head() is None:
        return {}
    from cpcm.store import audit

    found = audit.latest_by_worker(ctx.root, ctx.config.agency_code, git.rev)
    zone = ctx.zone

    def at(seconds: int | None) -> datetime | None:
        return datetime.fromtimestamp(seconds, zone) if seconds is not None else None
    return {worker: (at(work), at(synced)) for worker, (work, synced) in found.items()}


def quiet_workers(ctx: Context, me: str | None = None) -> list[str]:
    """The active workers (but `me`) of whom this copy holds no work made in the policy's
    `team_sync.quiet_after` (domain.team.quiet_workers); none while `team_sync.warn` is off."""
    if not ctx.policy.get("team_sync", "warn", False):
        return []
    after = ctx.policy.duration("team_sync", "quiet_after")
    latest = {worker: work for worker, (work, _) in last_work(ctx).items()}  # the commits since the last look only
    return team_rules.quiet_workers(ctx.team, latest, ctx.now, after, me)


# -- keys that change: cpcm key rotate, cpcm team recover ------------------------------------------
@writes
def key_rotate(ctx: Context, worker_id: str, recipient: str, reason: str = "routine", signing_key: str = "") -> Written:
    """The team change of a new key for a worker: the new recipient in the team (the old one kept
    in the worker's `past_keys`), and every case and conference folder the worker reads encrypted
    again to the readers' keys as they are now, in one commit (`team rotate WORKER`, or `team
    recover WORKER` when the agency's recovery key acts for the worker: `team_recover`). The
    worker rotates their own key; a supervisor or manager rotates anyone's. A folder the acting
    key cannot read is left as it is and listed in `not_reencrypted`; a complaint or strictly
    confidential entry is never listed (it may be about the one acting): its `recipients` file is
    marked for its readers instead (`_reencrypt_readers_of`). `signing_key`: the public
    signing line of the new identity (`cpcm key show --signing` on the worker's laptop): the
    signing key in use ends with the rotation and this one starts. It is needed when the team
    records a signing key for the worker (`_signing_key_needed`); a worker it records none for
    (added without one) records it from the new key with `cpcm key publish`."""
    actor = ctx.need_worker()
    recovered = bool(ctx.recovering_for) and ctx.recovering_for == actor.id == worker_id
    worker = ctx.team.get(worker_id)
    if worker is None:
        if ctx.team.get(worker_id, include_removed=True):
            raise Refused(f"worker '{worker_id}' was removed from the team", "A removed worker's key is not replaced; "
                          "add them again under a new id (cpcm team add).", rule="key-rotate-removed")
        raise NotFound("no worker by that id in the team", "See cpcm team list.")
    if worker.id != actor.id and not actor.has_role("supervisor", "manager"):
        raise Refused("only a supervisor or manager replaces another worker's key",
                      "Each worker rotates their own with cpcm key rotate; ask a supervisor for someone else's.",
                      rule="key-rotate-needs-supervisor")
    if reason not in KEY_REASONS:
        raise InvalidInput([FieldError("reason", f"is one of: {', '.join(KEY_REASONS)}")], "reason")
    _check_recipient(recipient)
    line = _check_signing_key(signing_key) if signing_key else ""
    if line:
        _key_taken(ctx.team, line, "")
    owner = ctx.team.key_owner(recipient)
    if owner is not None and owner.id != worker.id:
        raise Refused("that recipient is (or was) the key of another worker in the team", "Each worker has a key of their own: "
                      "make a new one with cpcm key new --out FILE.", rule="recipient-exists")
    if owner is not None or recipient in ctx.config.recovery_recipients:
        raise Refused("that recipient is the worker's current or an earlier key, or an agency recovery key",
                      "A rotation needs a new key: make one with cpcm key new --out FILE.", rule="key-reused")
    if not line and worker.signing_keys:
        _signing_key_needed(worker.id, recovered)
    team = Team(tuple(w.rekeyed(recipient, clock.iso(ctx.now), reason, actor.id, recovered, line) if w.id == worker.id else w
                      for w in ctx.team.workers))
    old_team, ctx.team = ctx.team, team
    try:
        with transaction(ctx, "team-recover" if recovered else "team-rotate") as tx:
            tx.replace_file(TEAM, team_bytes(team))
            done, skipped = _reencrypt_readers_of(ctx, tx, worker.id)
            tx.commit(f"team {'recover' if recovered else 'rotate'} {worker.id}")
    except BaseException:
        ctx.team = old_team
        raise
    return Written(None, extra={"worker": worker.id, "recipient": recipient, "reason": reason, "recovered": recovered,
                                "reencrypted": done, "not_reencrypted": skipped}, json_keys=())


def _signing_key_needed(worker_id: str, recovered: bool) -> None:
    """A key change for a worker the team records a signing key for, made without the new key's
    signing line: the old signing key belongs to the old identity, which the worker no longer
    uses, and `cpcm key publish` records a key only for a worker who has none; so every commit the
    new key signs would be refused by every other copy (unknown-signer), with no way to put it right.
    Refused before anything is written, saying where the line comes from."""
    command = (f"cpcm team recover {worker_id} --recipient age1... --signing-key \"ssh-ed25519 ...\" --recovery-identity FILE"
               if recovered else f"cpcm key rotate --worker {worker_id} --recipient age1... --signing-key \"ssh-ed25519 ...\"")
    raise UsageError(f"--signing-key is needed: the team records a signing key for '{worker_id}', and the new key cannot "
                     "sign with the old one; without the new line, every other copy refuses what the new key signs "
                     "(unknown-signer) and cpcm key publish cannot record it",
                     f"On the laptop with the new key, {worker_id} runs cpcm key show --signing (after cpcm key show, which "
                     f"prints the age1... line); give that line: {command}. Nothing was changed.")


def _reencrypt_readers_of(ctx: Context, tx, worker_id: str) -> tuple[dict[str, list[str]], list[str]]:
    """Encrypt again, to the keys of the team in `ctx`, every record of each case and conference
    whose readers include `worker_id` (its `recipients` file is unchanged: worker ids). Returns
    the folders done ({"cases": [...], "conferences": [...]}) and those the acting key cannot read.
    A complaint or strictly confidential entry the acting key cannot read (one about the one acting,
    one that excludes them) is named in neither (it may be about them). Every folder the acting key
    cannot read (a case restricted to the managers, a conference, a supervision session held by
    another, a complaint, an entry) gets a `# rekey: WORKER` line in its `recipients` file
    (layout.REKEY_LINE; a worker id only; its other lines as they were), which puts it on the
    `cpcm due` of its readers (case-readers, conference-readers, supervision-readers,
    complaint-readers, confidential-readers) until one of them runs `cpcm team sync`. One done loses
    such lines: every record of it is encrypted to the keys as they are now. A damaged record (no key
    opens it), and one of a case your key does not open whose very bytes a repair supersedes, do not
    make a folder unreadable: they are left as they are and the rest is done, as cpcm team sync does
    (`context.reencrypt_records`); the line is written then only while a damaged one has a good copy in
    git (`context.rekey_kept`)."""
    from cpcm.errors import CannotDecrypt
    from cpcm.service.context import reencrypt_records, rekey_kept
    from cpcm.store.casestore import CONFERENCES

    from cpcm.store.layout import COMPLAINTS, CONFIDENTIAL, SUPERVISION

    done: dict[str, list[str]] = {CASES: [], CONFERENCES: [], SUPERVISION: [], COMPLAINTS: [], CONFIDENTIAL: []}
    skipped: list[str] = []
    for top in (CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL):
        for folder in ctx.store.case_ids(top):
            readers, rekey = ctx.store.recipients_rekey(folder, top)
            if worker_id not in readers:
                continue
            rel = f"{folder_rel(top, folder)}/{RECIPIENTS}"
            try:
                # every record that opens, all read before any is written; a damaged one (no key opens it) and one of
                # a case whose very bytes a repair supersedes are left as they are (as cpcm team sync leaves them)
                left = reencrypt_records(ctx, tx, folder, keys_for(ctx, readers), top)
            except (cipher.NotARecipient, CannotDecrypt):
                if top not in (COMPLAINTS, CONFIDENTIAL):  # never named to one who does not read it (it may be about them)
                    skipped.append(folder)
                if worker_id not in rekey:  # its readers are told, and bring it to the new key (cpcm team sync)
                    tx.replace_file(rel, with_rekey(ctx.store.read_bytes(ctx.store.root / rel), [*rekey, worker_id]))
                continue
            # every record of it that opens is encrypted to the keys as they are now: the file as it was, its lines gone,
            # but while a damaged one has a good copy in git, on the earlier key (`rekey_kept`)
            lines = rekey_kept(ctx, folder, top, left, worker_id)
            if lines != rekey:
                tx.replace_file(rel, with_rekey(ctx.store.read_bytes(ctx.store.root / rel), lines))
            done[top].append(folder)
    return done, skipped


def key_rotate_own(ctx: Context, identity_path: Path, passphrase: str | None, reason: str = "routine") -> Written:
    """`cpcm key rotate`: a new identity for the acting worker, recorded by `key_rotate`; the old
    identity file is kept beside it as `<name>.old-<date>` (0600) until every laptop has synced.
    The new identity is written (to `<name>.new-<time>`) before the commit, so a commit never
    names a key that was not kept; when the change is refused it is deleted and nothing changed."""
    worker = ctx.need_worker()
    stamp = ctx.now.strftime("%Y%m%dT%H%M%S")
    pending = identity_path.with_name(f"{identity_path.name}.new-{stamp}")
    text, public = identity_mod.generate(clock.iso(ctx.now), f"cpcm key rotate ({worker.id})")
    new_signing = signing.for_identity(identity_mod.parse(text, str(pending))).line()
    identity_mod.save(pending, text, passphrase)
    try:
        result = key_rotate(ctx, worker.id, public, reason, new_signing)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    kept = identity_path.with_name(f"{identity_path.name}{identity_mod.EARLIER}{ctx.now.date().isoformat()}")
    if kept.exists():
        kept = identity_path.with_name(f"{identity_path.name}{identity_mod.EARLIER}{stamp}")
    _keep_copy(identity_path, kept)
    os.replace(pending, identity_path)
    os.chmod(kept, 0o600)
    try:
        identity_mod.public_path(identity_path).write_text(public + "\n", encoding="utf-8")
    except OSError:
        pass
    lock(identity_path)  # an unlocked agent holds the old key: forget it
    from cpcm.store import outputs

    try:  # the register of plaintext files cpcm wrote, opened by the new key from now on (cpcm outputs list)
        outputs.reseal(outputs.register_path(identity_path), ctx.identity.keys, public)
    except (OSError, outputs.NotARegister):
        pass  # left as it is: `outputs list` counts the entries the new key cannot open as unreadable
    return replace(result, extra={**result.extra, "identity": str(identity_path), "old_identity": str(kept)})


def team_recover(root: Path, worker_id: str, recipient: str, recovery_identity: Path,
                 ask_passphrase: Callable[[], str | None], reason: str = "lost", now: datetime | None = None,
                 signing_key: str = "") -> Written:
    """`cpcm team recover`: when the keys of the team's supervisors and managers are lost, the
    agency's recovery key (`init --recovery`; its identity kept offline) gives one of them a new
    key. Recorded as that worker's key change (`recovered: true`, with the reason), by that
    worker, in one commit; every folder they read is encrypted again to the new key."""
    from cpcm.service.context import open_repo

    ctx = open_repo(root, need_identity=False, now=now)
    if ctx.config.format < FORMAT_VERSION:  # moved to this format by a worker's command first (context._upgrade)
        from cpcm.service.context import format_old

        raise format_old(ctx.config)
    ident = identity_mod.load(recovery_identity, ask_passphrase)
    if not ident.recipients & set(ctx.config.recovery_recipients):
        raise Refused("--recovery-identity is not one of the agency's recovery keys (init --recovery)",
                      "Use the recovery identity the agency keeps offline.", rule="recover-not-recovery-key")
    worker = ctx.team.get(worker_id)
    if worker is None:
        if ctx.team.get(worker_id, include_removed=True):
            raise Refused(f"worker '{worker_id}' was removed from the team", rule="key-rotate-removed")
        raise NotFound("no worker by that id in the team", "See cpcm team list.")
    overseers = [w.id for w in ctx.team.active if w.has_role("supervisor", "manager")]
    if overseers and worker.id not in overseers:
        raise Refused("the recovery key puts back a supervisor or manager only",
                      f"Recover one of {', '.join(overseers)}; they then replace the others' keys (cpcm key rotate --worker).",
                      rule="recover-needs-supervisor")
    ctx.identity, ctx.recovering_for = ident, worker.id
    ctx.worker = worker
    return key_rotate(ctx, worker.id, recipient, reason, signing_key)


def _keep_copy(path: Path, kept: Path) -> None:
    """`kept` as a second name of the identity file (0600), never over an existing file."""
    try:
        os.link(path, kept)
    except OSError:  # a file system without hard links: a copy
        fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(path.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
