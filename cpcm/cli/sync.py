"""cpcm remote, sync, bundle and merge-cases: working as a team (docs/team.md)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from cpcm.cli.common import (ForceOpt, IdentityOpt, JsonOpt, RepoOpt, UnusedIdentityOpt, UnusedRepoOpt, a_file, ask_passphrase, check_output, damaged_left, err_console, folders_counted,
                             identity_path, open_ctx, print_json, print_table, say, typed_paths, warn)


@contextmanager
def _progress(json_out: bool) -> Iterator:
    """A spinner naming the step on a terminal; nothing otherwise."""
    import sys

    if json_out or not sys.stderr.isatty():
        yield lambda step: None
        return
    with err_console().status("sync: starting") as status:
        yield lambda step: status.update(f"sync: {step}")


NAMED = 20  # the IDs a line of the report names; more are counted (the report's JSON lists them all)


def _named(ids: list[str]) -> str:
    """`ids` for a line of the report: up to `NAMED` of them, the rest counted (a sync after an import on another
    copy brings thousands of cases)."""
    shown = " ".join(ids[:NAMED])
    return shown if len(ids) <= NAMED else f"{shown} and {len(ids) - NAMED} more"


# the top folders records arrive in (service/sync.py `Synced.records_in`, each also the report's list of those folders),
# with the words of a count of them
_ARRIVED_IN = (("cases", "case(s)"), ("conferences", "conference(s)"), ("supervision", "supervision session(s)"),
               ("complaints", "complaint(s)"), ("confidential", "strictly confidential entr(ies)"))


def _arrived_counted(result) -> str:
    """How many records arrived in how many folders of each kind, for the first line of a sync's or a bundle's report
    (docs/team.md): '1 record(s) in 1 case(s), 2 in 1 conference(s)'. A conference's records are counted in its
    conferences, never among the cases' (a conference and its nominations are not records of the case nominated); a
    kind no record arrived in is left out."""
    counts = [(n, len(getattr(result, top)), words) for top, words in _ARRIVED_IN if (n := result.records_in.get(top))]
    return ", ".join(f"{n}{' record(s)' if not i else ''} in {folders} {words}" for i, (n, folders, words) in enumerate(counts))


def report_synced(result, json_out: bool, what: str) -> None:
    if json_out:
        print_json(result.to_json())
        return
    if not result.commits:
        say(f"{what}: nothing new arrived" + (" (pushed your commits)" if result.pushed else ""))
    else:
        by = ", ".join(f"{n} from {who}" for who, n in sorted(result.by.items()))
        say(f"{what}: {_arrived_counted(result)} arrived" + (f" ({by})" if by else "")
            if result.records else f"{what}: {result.commits} commit(s) arrived, no new record")
        if result.cases:
            say("  cases: " + _named(result.cases))
        if result.conferences:
            say("  conferences: " + _named(result.conferences))
        if result.supervision:
            say("  supervision sessions: " + " ".join(result.supervision))
        if result.complaints:
            say("  complaints: " + " ".join(result.complaints))
        if result.confidential:
            say("  strictly confidential entries: " + " ".join(result.confidential))
        for change in result.team_changes:
            say(f"  team: {change[len('team '):]}")
        for change in result.settings_changes:
            say(f"  settings: {change}")
        for change in result.directory_changes:
            say(f"  service directory: {change}")
        if result.pushed:
            say(f"  pushed your commits to {result.remote}")
    if result.joined:
        say(f"  you are a member of the team now ({', '.join(result.roles)}): every command works for you from here; "
            "cpcm list shows the cases you read, cpcm due what is due")
    if result.assigned_to_you:
        say("  assigned to you now: " + " ".join(result.assigned_to_you) + " (cpcm due)")
    if result.covering:
        say("  you cover now: " + ", ".join(f"{c['case']} (until {c['until']})" for c in result.covering) + " (cpcm due)")
    if result.assigned_away:
        say("  assigned to another worker, no longer yours: " + " ".join(result.assigned_away))
    if result.reencrypted:
        say("  re-encrypted to their readers as they are now: " + _named(result.reencrypted))
    for conflict in result.conflicts:
        if conflict.get("conference") and conflict.get("compared") is False:  # this worker cannot read the conference
            warn(f"{conflict['conference']}: {conflict['code']} ({', '.join(conflict['records'])}) may be: you cannot read "
                 f"{conflict['conference']} to compare these records written apart; its chair sees whether they differ "
                 f"(cpcm conference show {conflict['conference']})")
            continue
        if conflict.get("conference"):  # a conference's (its minutes written apart): its chair settles it
            warn(f"{conflict['conference']}: {conflict['code']} ({', '.join(conflict['records'])}); see cpcm conference show "
                 f"{conflict['conference']}")
            continue
        warn(f"{conflict['case']}: {conflict['code']} ({', '.join(conflict['records'])}); see cpcm check {conflict['case']}")
    for moved in result.reidentified:
        warn(_moved_said(moved))
    for pair in result.duplicates:
        warn(f"{pair['case']} and {pair['other']} may be the same child ({pair['reason']}); if so: cpcm merge-cases "
             f"{pair['case']} {pair['other']}")
    if result.not_reencrypted:
        from cpcm.workflow.rules import folders_by_kind

        # a case you read holding a record not encrypted to you is left out whole of what you list (report_problems)
        until = ("; until then, where you are not among a record's readers, its whole case is left out of your cpcm list "
                 "and cpcm due" if folders_by_kind(result.not_reencrypted)["cases"] else "")
        warn(f"{folders_counted(result.not_reencrypted)} hold records written to other readers and need re-encrypting by "
             f"someone who can read them (their next sync, or cpcm team sync){until}: " + " ".join(result.not_reencrypted))
    for entry in result.damaged:
        warn(damaged_left(entry))
    for note in result.notes:
        warn(note)
    for told in result.earlier:
        report_synced(told, False, _stopped(told.stopped))


def _moved_said(moved: dict) -> str:
    """The line of a case a merge gave a new ID, two copies having registered different cases under one (service/sync.py
    `_reidentify`): which case moved, whether it is one this copy held (`here`: registered here, or brought by an earlier
    sync), and where its records are now."""
    old, new = moved["old"], moved["new"]
    if moved.get("here"):
        return (f"case {old} of this copy is now {new}: another copy had registered a different case as {old} first, so "
                f"this one, registered later, moved to a new ID with its records (use {new} from now on; {old} is the "
                "other copy's case)")
    return (f"two copies registered different cases as {old}: the one registered later, on another copy, moved to a new "
            f"ID, {new}, with its records; {old} is the one registered first")


def _stopped(stopped: dict) -> str:
    """The head of the report of an earlier sync (or bundle apply) stopped after its merge, before it said what
    arrived (service/sync.py `_retold`): its kind and when it ran."""
    when = f"{stopped['date'][:10]} {stopped['date'][11:16]}"
    what = f"the sync of {when}" if stopped["kind"] == "sync" else f"the bundle applied on {when}"
    return f"{what}, which was stopped before it said what arrived (merge {stopped['commit'][:10]})"


def _last_synced(row: dict) -> str:
    if row["last_synced"]:
        return row["last_synced"][:10]
    return "never" + (f" (copied at {row['copied_at'][:10]}; cpcm sync {row['name']})" if row["copied_at"] else "")


def register(app: typer.Typer) -> None:
    remote = typer.Typer(help="The git remotes this copy syncs with (a USB stick, a shared folder, ssh).", no_args_is_help=True)
    app.add_typer(remote, name="remote")

    @remote.command("add")
    def add(name: str = typer.Argument(..., help="A short name: usb, office, ..."),
            url: str = typer.Argument(..., help="A path to a bare git repository, or an ssh/https git URL."),
            create: bool = typer.Option(False, "--create", help="Make an empty bare repository at that path first."),
            repo: RepoOpt = None, identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Add a remote to sync with.

        Example: cpcm remote add usb /media/usb/kisumu.git --create
        """
        from cpcm.errors import CpcmError
        from cpcm.service import sync

        ctx = open_ctx(repo, None, need_identity=False)
        try:
            done = sync.remote_add(ctx, name, url, create)
        except CpcmError as exc:
            raise typed_paths(exc, URL=url) from None
        if json_out:
            print_json(done)
            return
        for message in done["warnings"]:
            warn(message)
        say(f"remote '{name}' added; sync with: cpcm sync {name}")

    @remote.command("list")
    def list_(repo: RepoOpt = None, identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The remotes, with the commit each was last synced at (never, for a copy made by git clone
        and not synced since: the commit it was copied at).

        Example: cpcm remote list
        """
        from cpcm.service import sync

        rows = sync.remote_list(open_ctx(repo, None, need_identity=False))
        if json_out:
            print_json(rows)
        else:
            print_table(["name", "url", "last synced"], [[r["name"], r["url"], _last_synced(r)] for r in rows])

    @remote.command("remove")
    def remove(name: str = typer.Argument(..., help="The remote's name."), repo: RepoOpt = None, identity: UnusedIdentityOpt = None,
               json_out: JsonOpt = False) -> None:
        """Forget a remote (nothing in it is touched).

        Example: cpcm remote remove usb
        """
        from cpcm.service import sync

        done = sync.remote_remove(open_ctx(repo, None, need_identity=False), name)
        print_json(done) if json_out else say(f"remote '{name}' removed")

    @app.command("sync")
    def sync_(name: Optional[str] = typer.Argument(None, help="The remote (default: the only one)."), repo: RepoOpt = None,
              identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Fetch, merge and push in one step: what others wrote arrives, what you wrote leaves.

        Example: cpcm sync usb
        """
        from cpcm.service import sync

        ctx = open_ctx(repo, identity, joining=True)  # a worker added since this copy was made comes in by a sync
        try:
            with _progress(json_out) as progress:
                result = sync.sync(ctx, name, progress)
        except (sync.NotPushed, sync.PushFailed) as exc:  # merged, not pushed: what arrived is said before the error (in JSON, its `sync`)
            if not json_out:
                report_synced(exc.synced, False, f"sync {exc.synced.remote}")
            raise
        report_synced(result, json_out, f"sync {result.remote}")

    bundle = typer.Typer(help="The same exchange as sync, as one encrypted file (for a USB stick).", no_args_is_help=True)
    app.add_typer(bundle, name="bundle")

    @bundle.command("create")
    def create(file: Path = typer.Argument(..., help="The bundle file to write (age-encrypted to the team)."),
               since: Optional[str] = typer.Option(None, "--since", help="Only the commits after this one (a commit id)."),
               force: ForceOpt = False, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Write this copy's history as one file, encrypted to every team member.

        Example: cpcm bundle create /media/usb/amina.cpcm-bundle
        """
        from cpcm.errors import CpcmError, UsageError
        from cpcm.service import sync
        from cpcm.store import atomic

        a_file(file, "FILE")  # a bundle is a file, never standard output
        ctx = open_ctx(repo, identity)
        try:
            try:
                path, taken = check_output(None, file, "FILE", force, plaintext=False), None
            except UsageError as exc:  # FILE there already: no failure when nothing is to be written (--since, nothing after)
                if since is None or force or not file.is_file():
                    raise
                check_output(None, file, "FILE", True, plaintext=False)  # every other check of FILE still holds
                path, taken = None, exc
            data, about = sync.bundle_create(ctx, since)
            if data is not None and taken is not None:
                raise taken
            if data is not None:
                atomic.write_private(path, data)
        except CpcmError as exc:
            raise typed_paths(exc, FILE=file) from None
        if json_out:
            print_json({**about, "bytes": len(data or b""), "written": data is not None})
        elif data is None:  # nothing after --since: nothing to carry, no failure (exit 0)
            say(f"nothing to put in the bundle: this copy has no commit after --since ({about['since'][:10]}); no bundle "
                "written, and none is needed until there is new work to carry")
        else:
            say(f"bundle written ({len(data)} bytes, encrypted to {about['recipients']} key(s)); on the other laptop: "
                "cpcm bundle apply FILE" + ("" if since else "; a laptop with no copy yet (a new worker's): cpcm bundle clone "
                                            "FILE PATH"))

    @bundle.command("apply")
    def apply(file: Path = typer.Argument(..., help="A bundle made by cpcm bundle create."), repo: RepoOpt = None,
              identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Merge a bundle from another copy (applying one twice changes nothing).

        Example: cpcm bundle apply /media/usb/amina.cpcm-bundle
        """
        from cpcm.errors import NotFound
        from cpcm.service import sync

        # as for sync: a worker added since this copy was made; and a bundle made for an earlier key of yours
        ctx = open_ctx(repo, identity, joining=True, earlier=True)
        try:
            data = file.expanduser().read_bytes()
        except OSError:
            raise NotFound("FILE: cannot read the bundle file", "Check the path and that the USB stick is mounted.") from None
        with _progress(json_out) as progress:
            result = sync.bundle_apply(ctx, data, progress)
        report_synced(result, json_out, "bundle")

    @bundle.command("clone")
    def clone(file: Path = typer.Argument(..., help="A bundle made by cpcm bundle create (without --since)."),
              path: Path = typer.Argument(..., help="A new or empty folder for your copy."),
              identity: IdentityOpt = None, json_out: JsonOpt = False,
              repo: Optional[Path] = typer.Option(None, "--repo", help="Taken as by every command, and not used: the copy is "
                                                  "made in PATH.", show_default=False)) -> None:
        """Start your copy of the team's repository from a bundle (a laptop that never meets the
        shared place); from then on, exchange bundles with bundle create and bundle apply.

        Example: cpcm bundle clone /media/usb/office.cpcm-bundle ~/casefiles/kisumu
        """
        from cpcm.crypto import identity as identity_mod
        from cpcm.errors import CpcmError, NotFound
        from cpcm.service import sync

        try:
            data = file.expanduser().read_bytes()
        except OSError:
            raise NotFound("FILE: cannot read the bundle file", "Check the path and that the USB stick is mounted.") from None
        try:
            done = sync.bundle_clone(path, identity_mod.load(identity_path(identity), ask_passphrase), data)
        except CpcmError as exc:
            raise typed_paths(exc, PATH=path, FILE=file, **{"--identity": identity}) from None
        if json_out:
            print_json(done)
        else:
            say(f"your copy is ready ({done['cases']} case folder(s)), as {done['worker']}; use it with --repo PATH or "
                "$CPCM_REPO, and exchange bundles: cpcm bundle create FILE, cpcm bundle apply FILE")

    @app.command("merge-cases")
    def merge_cases(keep: str = typer.Argument(..., help="The case that stays in use (A)."),
                    other: str = typer.Argument(..., help="The other case of the same child (B)."),
                    repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Link two cases of one child: A records B as its alias, B records that it was merged into A.

        Example: cpcm merge-cases CP-4F7K-9X2N CP-7YY9-TW8D
        """
        from cpcm.cli.common import report_written
        from cpcm.service import parse_case_id, sync

        ctx = open_ctx(repo, identity)
        result = sync.merge_cases(ctx, parse_case_id(keep), parse_case_id(other))
        report_written(result, json_out, f"{result.case_id} now holds {result.extra['alias']} as an alias")
