"""cpcm init and cpcm team: the casefile repository and who works in it."""
from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (IdentityOpt, JsonOpt, RepoOpt, UnusedIdentityOpt, ask_passphrase, damaged_left, folders_counted, given_path, identity_path, open_ctx,
                             print_json, print_table, say, warn)


# `--cadre` of `team add` and of `init` (its first worker): the values and their check are service/team.py's
CADRE_HELP = ("{whose} cadre: professional, officer, para_social_worker or volunteer (which cases they may hold: policy "
              "cadre_risk). Not given: not known.")


def _default_worker_id() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        name = "worker"
    return re.sub(r"[^a-z0-9._-]", "", name.lower())[:32] or "worker"


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        path: Optional[Path] = typer.Argument(None, help="Folder for the new casefile repository (default: --repo, $CPCM_REPO or ./casefiles)."),
        agency: str = typer.Option(..., "--agency", help="Agency code, e.g. KSM-CCI."),
        name: str = typer.Option(..., "--name", help="Agency name."),
        policy: str = typer.Option("inter-agency", "--policy", help="Rule profile: inter-agency or kenya."),
        worker: str = typer.Option(None, "--worker", help="Your worker id (default: your login name)."),
        worker_name: str = typer.Option("", "--worker-name", help="Your name as colleagues know it."),
        role: List[str] = typer.Option(["caseworker"], "--role", help="Your role(s): caseworker, supervisor, manager (repeat for several)."),
        cadre: str = typer.Option("", "--cadre", help=CADRE_HELP.format(whose="Your")),
        language: str = typer.Option("en", "--language", help="Default language of documents: en or sw."),
        recovery: List[str] = typer.Option([], "--recovery", help="An agency recovery recipient (age1...), added to every case."),
        recovery_signing_key: List[str] = typer.Option([], "--recovery-signing-key", help="The recovery identity's signing key "
                                                       "('cpcm key show --signing' with it): what signs a 'team recover'."),
        timezone: Optional[str] = typer.Option(None, "--timezone", help="The agency's time zone, an IANA name such as Africa/Nairobi (default: the system's, else UTC). Every time is shown in it.", show_default=False),
        repo: RepoOpt = None,
        identity: IdentityOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Create a casefile repository, with you as its first team member.

        Example: cpcm init casefiles/kisumu --agency KSM-CCI --name "Kisumu Children's Home" --role supervisor --cadre professional
        """
        from cpcm import service
        from cpcm.store.config import resolve_repo
        from cpcm.crypto import identity as identity_mod

        from cpcm.cli.common import typed_paths
        from cpcm.errors import CpcmError

        root = (path.expanduser().resolve() if path else resolve_repo(str(repo) if repo else None))
        try:
            ident = identity_mod.load(identity_path(identity), ask_passphrase)
            worker_id = worker or _default_worker_id()
            from cpcm.crypto import signing

            config = service.init(root, agency, name, worker_id, worker_name, role, ident.recipient, _now_in(timezone), policy=policy,
                                  language=language, recovery_recipients=recovery, timezone=timezone,
                                  signer=signing.for_identity(ident), recovery_signing_keys=recovery_signing_key,
                                  cadre=cadre)
        except CpcmError as exc:
            raise typed_paths(exc, **{"PATH": path, "--repo": repo, "--identity": identity}) from None
        if json_out:
            print_json({"repo": str(root), "agency": config.agency_code, "policy": config.policy, "worker": worker_id,
                        "timezone": config.timezone, "cadre": cadre or None})
        else:
            where = "" if path or given_path(repo, "--repo", "CPCM_REPO") else f" at {root}"  # a path given is not repeated
            from cpcm.domain.team import cadre_words

            say(f"casefile repository created{where} (policy {config.policy}, time zone {config.timezone}); you are "
                f"'{worker_id}' ({', '.join(role)}{'; cadre: ' + cadre_words(cadre) if cadre else ''})")
            if resolve_repo(None) != root:  # the next command, run from here, would look elsewhere
                say("next: the other commands find it when run inside its folder, or with --repo PATH, or after "
                    "export CPCM_REPO=PATH (PATH: the folder it was made in)")
            say("next: add your colleagues: cpcm team add WORKER --role caseworker --recipient AGE1... --signing-key \"ssh-ed25519 ...\" "
                "(the two lines a colleague prints on their laptop: cpcm key show, cpcm key show --signing); then register a child: "
                "cpcm form blank registration > child.yaml; cpcm register --from-file child.yaml")

    config = typer.Typer(help="The repository's settings (.cpcm/config.yaml): time zone, language, profile, agency name.",
                         no_args_is_help=True)
    app.add_typer(config, name="config")

    @config.command("set")
    def config_set(
        key: str = typer.Argument(..., help="timezone, language, policy or agency.name."),
        value: str = typer.Argument(..., help="The new value: Africa/Nairobi, sw, kenya, \"Kisumu Children's Home\"..."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Change a setting, in one signed commit (a supervisor or manager).

        The value is checked first (a known time zone, a language with a catalog, a profile the
        agency's .cpcm/policy.yaml fits, one line of text); when it is wrong nothing changes.
        Every copy takes it at its next sync.

        Example: cpcm config set timezone Africa/Nairobi
        """
        from cpcm import service
        from cpcm.cli.common import report_setting

        result = service.config_set(open_ctx(repo, identity), key, value)
        was = f"it was {result['before'] or 'not set'}; " if key != "agency.name" else ""  # no text typed is repeated
        report_setting(result, json_out, f"no change: {key} has that value already", lambda commit: f"{key} set ({was}commit {commit})")

    team = typer.Typer(help="Who works in this casefile repository.", no_args_is_help=True)
    app.add_typer(team, name="team")

    @team.command("add")
    def add(
        worker: str = typer.Argument(..., help="The new worker's id (short, lower case)."),
        role: List[str] = typer.Option(..., "--role", help="caseworker, supervisor or manager (repeat for several)."),
        recipient: str = typer.Option(..., "--recipient", help="Their public key, from 'cpcm key show' (age1...)."),
        name: str = typer.Option("", "--name", help="Their name as colleagues know it."),
        signing_key: str = typer.Option("", "--signing-key", help="Their signing key, the ssh-ed25519 line 'cpcm key show --signing' prints (else they run 'cpcm key publish')."),
        cadre: str = typer.Option("", "--cadre", help=CADRE_HELP.format(whose="Their")),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Add a worker. A new supervisor or manager is given access to every case and conference (re-encrypted).

        Example: cpcm team add otieno --role caseworker --cadre para_social_worker --recipient age1... --signing-key "ssh-ed25519 AAAA..." --name "J. Otieno"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        result = service.team_add(ctx, worker, role, recipient, name, signing_key, cadre)
        _report_team_change(result, json_out, f"'{worker}' added")
        for step in () if json_out else result.next_steps:  # in the JSON's next_steps
            say(f"next: {step}")

    SHOWN = 10  # the case IDs a warning names before it counts the rest

    @team.command("cadre")
    def cadre_(worker: str = typer.Argument(..., help="The worker's id."),
               cadre: str = typer.Argument(..., help="professional, officer, para_social_worker or volunteer."),
               repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Set a worker's cadre (their job category; a supervisor or manager). Their open cases above what the cadre
        may hold (policy cadre_risk) are named, and are on cpcm due as cadre-escalation until each is reassigned.

        Example: cpcm team cadre otieno professional
        """
        from cpcm import service
        from cpcm.domain.team import cadre_words

        ctx = open_ctx(repo, identity)
        result = service.team_cadre(ctx, worker, cadre)
        before = result.extra["before"]
        _report_team_change(result, json_out, f"'{worker}' is a {cadre_words(cadre)} now (was "
                                              f"{cadre_words(before or '')})")
        above = result.extra["above"]
        if above and not json_out:
            warn(f"{len(above)} open case(s) of {worker} are above the risk a {cadre_words(cadre)} may hold (policy "
                 f"cadre_risk): escalate each to a professional (cpcm assign CASE --worker OTHER); until then they are on "
                 "cpcm due (cadre-escalation): " + " ".join(above[:SHOWN])
                 + (f" and {len(above) - SHOWN} more (cpcm due --worker {worker} lists them all)" if len(above) > SHOWN else ""))

    @team.command("remove")
    def remove(worker: str = typer.Argument(..., help="The worker's id."), repo: RepoOpt = None, identity: IdentityOpt = None,
               json_out: JsonOpt = False) -> None:
        """Remove a worker; the cases and conferences they could read are re-encrypted away from them.

        Example: cpcm team remove otieno
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        result = service.team_remove(ctx, worker)
        _report_team_change(result, json_out, f"'{worker}' removed", worker)
        if not json_out:
            _history_warning()
            _next_cache(result, worker)
            _next_sync(ctx, worker)

    @team.command("recover")
    def recover(
        worker: str = typer.Argument(..., help="The supervisor or manager whose key is put back."),
        recipient: str = typer.Option(..., "--recipient", help="Their new public key (age1...), from 'cpcm key new' on their laptop."),
        recovery_identity: Path = typer.Option(..., "--recovery-identity", help="The agency's recovery identity file (init "
                                               "--recovery), kept offline."),
        reason: str = typer.Option("lost", "--reason", help="lost, stolen, compromised, forgotten-passphrase or routine."),
        signing_key: str = typer.Option("", "--signing-key", help="Their new signing key ('cpcm key show --signing' with the new "
                                        "key); needed when the team records one for them."),
        repo: RepoOpt = None, json_out: JsonOpt = False,
        identity: Optional[Path] = typer.Option(None, "--identity", "-i", help="Taken as by every command, and not used: the key "
                                                "this command opens is --recovery-identity's.", show_default=False),
    ) -> None:
        """When every supervisor's and manager's key is lost: the agency's recovery key gives one of them a new key.

        Recorded as their key change (recovered: true, the reason), by them, in one commit; every
        case and conference they read is re-encrypted to the new key. See docs/team.md, "Recovery drill".

        Example: cpcm team recover wanjiru --recipient age1... --signing-key "ssh-ed25519 ..." --recovery-identity /media/safe/recovery.key
        """
        from cpcm import service
        from cpcm.cli.common import typed_paths
        from cpcm.errors import CpcmError
        from cpcm.store.config import resolve_repo

        try:
            result = service.team_recover(resolve_repo(str(repo) if repo else None), worker, recipient, recovery_identity,
                                          ask_passphrase, reason, signing_key=signing_key)
        except CpcmError as exc:
            raise typed_paths(exc, **{"--repo": repo, "--recovery-identity": recovery_identity}) from None
        if json_out:
            print_json(dict(result.extra))
            return
        extra = result.extra
        say(f"'{worker}' has a new key ({len(extra['reencrypted']['cases'])} case(s), "
            f"{len(extra['reencrypted']['conferences'])} conference(s)"
            + (f", {len(extra['reencrypted']['supervision'])} supervision session(s)" if extra['reencrypted'].get('supervision') else "")
            + (f", {len(extra['reencrypted']['complaints'])} complaint(s)" if extra['reencrypted'].get('complaints') else "")
            + (f", {len(extra['reencrypted']['confidential'])} strictly confidential entr(ies)"
               if extra['reencrypted'].get('confidential') else "")
            + " re-encrypted); put the recovery identity back offline")
    @team.command("revoke")
    def revoke(
        worker: str = typer.Argument(..., help="The worker's id."),
        lost: bool = typer.Option(False, "--lost", help="Their laptop (their key) is lost or stolen: say so to confirm."),
        from_: Optional[str] = typer.Option(None, "--from", help="When the key was lost: a date or date-time (default: now)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """A lost laptop: remove the worker and revoke their signing key from a date.

        As 'team remove' (the cases they could read are re-encrypted away from them), and any
        commit signed with their key at or after --from is refused by sync and reported by verify.

        Example: cpcm team revoke otieno --lost --from 2026-03-14
        """
        from cpcm import service
        from cpcm.cli.common import parse_at
        from cpcm.errors import UsageError

        if not lost:
            raise UsageError("--lost: say that the worker's key is lost or stolen", "Use cpcm team remove for a worker who leaves.")
        ctx = open_ctx(repo, identity)
        since = parse_at(from_, "--from", ctx.zone)
        result = service.team_revoke(ctx, worker, since)
        revoked = f"their signing key is revoked from {result.extra['revoked_from']}"
        # removed by an earlier team remove (or revoke): only the key is this command's doing, and said so
        _report_team_change(result, json_out, f"'{worker}' removed; {revoked}" if result.extra["removed_now"] else
                            f"'{worker}' was removed from the team already ({result.extra['removed'][:10]}); {revoked}",
                            worker)
        if not json_out:
            _history_warning()  # a lost key reads the old records still: the reminder matters most here
            _next_cache(result, worker)
            _next_sync(ctx, worker)

    @team.command("signers")
    def signers(repo: RepoOpt = None, identity: UnusedIdentityOpt = None) -> None:
        """Print the team's allowed-signers file, for checking cpcm's commits with plain git.

        Example: cpcm team signers > signers && git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=signers verify-commit HEAD
        """
        from cpcm import service

        typer.echo(service.team_signers(open_ctx(repo, None, need_identity=False)), nl=False)

    @team.command("sync")
    def sync(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Re-encrypt the cases and conferences you can read whose readers differ from what the team needs.

        Example: cpcm team sync
        """
        from cpcm import service

        result = service.team_sync(open_ctx(repo, identity))
        if json_out:
            print_json(result.to_json())
        else:
            conferences = result.extra["conferences_reencrypted"]
            complaints = result.extra.get("complaints_reencrypted")
            confidential = result.extra.get("confidential_reencrypted")
            sessions = result.extra.get("supervision_reencrypted")
            say(f"{result.extra['reencrypted']} case(s) re-encrypted" + (f", {conferences} conference(s)" if conferences else "")
                + (f", {sessions} supervision session(s)" if sessions else "")
                + (f", {complaints} complaint(s)" if complaints else "")
                + (f", {confidential} strictly confidential entr(ies)" if confidential else ""))
            if result.extra["not_reencrypted"]:
                warn(f"{folders_counted(result.extra['not_reencrypted'])} need re-encrypting by someone who can read them: "
                     + " ".join(result.extra["not_reencrypted"]))
            for entry in result.extra["damaged"]:
                warn(damaged_left(entry))

    @team.command("list")
    def list_(all_: bool = typer.Option(False, "--all", help="Include removed workers."), repo: RepoOpt = None,
              identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The team: id, name, roles, cadre ('not known' where none was given), recipient, and when each worker's
        last work here was made.

        Example: cpcm team list --json
        """
        from cpcm import service
        from cpcm.domain.dates import local_day
        from cpcm.domain.team import cadre_words

        ctx = open_ctx(repo, None, need_identity=False)
        workers = service.team_list(ctx, all_)
        if json_out:
            print_json(workers)
            return
        # each day in the agency's zone now, whatever zone the time was written in (a team made on a UTC
        # machine before `cpcm config set timezone`): never the UTC day shown as local
        zone = ctx.zone
        print_table(["id", "name", "roles", "cadre", "recipient", "since", "removed", "last work here", "last sync"],
                    [[w["id"], w["name"], ",".join(w["roles"]), cadre_words(w.get("cadre") or ""), w["recipient"],
                      local_day(w["since"], zone), local_day(w.get("removed", ""), zone),
                      local_day(w["last_commit_at"], zone) or "none", local_day(w["last_sync_at"], zone)] for w in workers])


def _next_sync(ctx, worker: str) -> None:
    """What a removal needs next on a copy that syncs: the other copies learn of it at their sync."""
    from cpcm.service import sync

    if sync.remote_list(ctx):
        say(f"next: cpcm sync, so the other copies learn of it at their next sync (the reassigned cases are named there); "
            f"the laptop of '{worker}' then stops syncing (docs/team.md, 'A worker removed on another copy')")


def _now_in(timezone: str | None):
    """Now, with $CPCM_NOW without an offset read in the agency's zone as `init` is told it (every
    later command reads it so); a zone name init refuses is refused there."""
    from cpcm import clock
    from cpcm.errors import UsageError

    try:
        zone = clock.check_zone_name(timezone) if (timezone or "").strip() else None
    except UsageError:
        zone = None
    return clock.now(zone)


def _history_warning() -> None:
    """After a worker is removed (team remove, team revoke): what re-encryption cannot reach."""
    warn("copies of old records in git history stay readable with the removed worker's key (see docs/security.md)")


def _next_cache(result, removed: str) -> None:
    """What a removal did with the removed worker's cache on this computer (service.team._forget_cache),
    and what is left to do on the others."""
    if result.extra.get("signing_key_recorded") is False:  # team add without --signing-key, and never cpcm key publish
        warn(f"no signing key was ever recorded for '{removed}' (added without --signing-key, and no cpcm key publish): "
             "cpcm verify reports each commit they made as unknown-signer, and a removed worker's key can no longer be "
             "recorded; their records are kept and read as any other. Before removing a worker, record their key: "
             "cpcm key publish --worker WORKER --signing-key LINE (docs/security.md, 'A removed worker's key')")
    cache = result.extra.get("cache")
    if cache == "left":
        warn(f"the cache of '{removed}' on this computer could not be deleted: delete the folder .cpcm/cache/{removed}/ "
             "(it holds what their cases hold, encrypted to their key; see docs/security.md)")
    say(f"next: on any other computer '{removed}' worked on a copy, delete .cpcm/cache/{removed}/ "
        + ("(deleted on this one) " if cache == "deleted" else "")
        + "and collect their copies of the repository (docs/security.md, 'When a worker leaves')")


def _report_team_change(result, json_out: bool, done: str, removed: str | None = None) -> None:
    for message in result.warnings:  # on standard error, with --json too (its keys stay as they are)
        warn(message)
    if json_out:
        print_json(result.to_json())
        return
    say(done)
    visits = result.extra.get("visits_left")
    if visits:
        warn(f"{len(visits)} closed case(s) of {removed} still need their post-closure visit, which nobody has now: "
             "they are on the supervisors' cpcm due until one of you records it (cpcm followup CASE --purpose "
             "post_closure ...): " + " ".join(visits))
    keyworker_of = result.extra.get("keyworker_of")
    if keyworker_of:
        warn(f"{removed} was the keyworker of {len(keyworker_of)} open case(s) of others: the children and families there "
             "have no point of contact now; nominate another (cpcm assign CASE --keyworker WORKER --reason ...): "
             + " ".join(keyworker_of))
    receipts = result.extra.get("receipts_left")
    if receipts:
        warn(f"{len(receipts)} transferred case(s) of {removed} still wait for the receiving agency's receipt, which nobody "
             "follows up now: they are on the supervisors' cpcm due until one of you records it (cpcm transfer-ack RECEIPT) "
             "or reopens the case: " + " ".join(receipts))
    # the restricted cases a revoked last manager alone read have no reader left to run team sync (named above)
    left = [f for f in result.extra["not_reencrypted"] if f not in (result.extra.get("restricted_left") or ())]
    if left:
        warn(f"{folders_counted(left)} could not be re-encrypted because you cannot read them; one "
             "of their readers should run 'cpcm team sync': " + " ".join(left))
