"""cpcm transfer / receive / transfer-ack: hand a case to another agency as one encrypted
bundle, take one in, and record the receiving agency's receipt."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, a_file, IdentityOpt, JsonOpt, RepoOpt, SetOpt, gather, open_ctx, parse_at, print_json,
                             print_table, report_written, say, warn)


def _read(path: Path, what: str) -> bytes:
    from cpcm.errors import NotFound

    try:
        return path.expanduser().read_bytes()
    except OSError as exc:  # the path is not echoed: a file may be named after a child
        raise NotFound(f"cannot read the {what} file ({exc.strerror})", "Check the path.") from None


def register(app: typer.Typer) -> None:
    @app.command("transfer")
    def transfer(
        case: Optional[str] = typer.Argument(None, help="Case ID (none with --batch)."),
        to: Optional[str] = typer.Option(None, "--to", help="The receiving agency: its service id in the directory, or its agency code."),
        reason: str = typer.Option(..., "--reason", help="The good cause, and why the other agency will serve the child better; with --withdraw: why."),
        reason_code: str = typer.Option("other", "--reason-code", help="better_service, relocation, agency_exit, specialised_service, difficult_case or other."),
        check: List[str] = typer.Option([], "--check", help="A transfer checklist item confirmed (repeat; 'all' for every item): "
                                                            "file_complete, consent_recorded, handover_plan_agreed, child_and_family_told, receiving_worker_named."),
        recipient: List[str] = typer.Option([], "--recipient", help="The receiving agency's age key (age1…; repeat). Given with a request, it is kept for writing the bundle once approved. Default: the approved request's keys, else its directory entry's key."),
        out: Optional[Path] = typer.Option(None, "--out", help="Where to write the encrypted bundle (a new file)."),
        batch: bool = typer.Option(False, "--batch", help="Every open case you can read (an agency leaving an area): one bundle per case."),
        out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="With --batch: the folder for the bundles (CASE-ID.transfer.age)."),
        withdraw: bool = typer.Option(False, "--withdraw", help="Take back your own transfer request that still waits for approval, or an approved one not carried out (with --reason)."),
        from_file: FromFileOpt = None, set_: SetOpt = None,
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Transfer a case to another agency: full responsibility moves there. Needs a reason the
        policy accepts (not only that the case is difficult), consent for transfer to that agency
        (or a supervisor's override), the transfer checklist, and a supervisor's approval: the
        first run records the request; once approved, the same command writes the bundle,
        encrypted to the receiving agency only, and the case here becomes read-only.

        Example: cpcm transfer CP-4F7K-9X2N --to kisumu-cci --reason "the family moved to Kisumu" --reason-code relocation --check all --out CP-4F7K-9X2N.transfer.age
        Example: cpcm transfer --batch --to county-office --recipient age1… --out-dir handover/ --reason "programme closing" --reason-code agency_exit --check all

        The one who asked may take the request back while it waits (--withdraw): the case stays
        here as it was. An approved request not carried out is on the case's worker's due list;
        the one who asked, the case's worker or a supervisor takes it back the same way.

        Example: cpcm transfer CP-4F7K-9X2N --withdraw --reason "the family decided to stay"

        In the kenya profile the request also takes the Transfer form's fields (Form 10A) with
        --from-file or --set (cpcm form blank transfer-kenya); the run that writes the bundle uses
        the approved request's.
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if withdraw:
            given = [name for name, value in (("--to", to), ("--reason-code", reason_code != "other"), ("--check", check),
                                              ("--recipient", recipient), ("--out", out), ("--batch", batch), ("--out-dir", out_dir),
                                              ("--from-file", from_file), ("--set", set_)) if value]
            if given or not case:
                raise UsageError(f"--withdraw takes only --reason (not {', '.join(given)})" if given else "--withdraw needs the case ID",
                                 "Withdraw the request alone: cpcm transfer CASE --withdraw --reason TEXT")
            ctx = open_ctx(repo, identity)
            case_id = service.parse_case_id(case)
            result = service.transfer_withdraw(ctx, case_id, reason, parse_at(at))
            report_written(result, json_out, f"the transfer request of {case_id} is withdrawn")
            return
        a_file(out)  # a bundle is a file, never standard output
        a_file(out_dir, "--out-dir")
        if not to:
            raise UsageError("--to is needed: the receiving agency (its service id in the directory, or its agency code)",
                             "See cpcm transfer --help.")
        if batch == bool(case):
            raise UsageError("give one case ID, or --batch (with --out-dir) for every open case", "See cpcm transfer --help.")
        if batch and (out_dir is None or out is not None):
            raise UsageError("--batch writes one bundle per case: give --out-dir FOLDER (not --out)")
        if not batch and out_dir is not None:
            raise UsageError("--out-dir goes with --batch; for one case give --out FILE")
        from cpcm.service.transfers import agency_words

        ctx = open_ctx(repo, identity)
        details = None
        if from_file or set_:
            from cpcm.service.transfers import details_form

            details = gather(ctx, details_form(ctx) or "transfer-kenya", from_file, set_, {}, True)
        if batch:
            result = service.transfer_batch(ctx, to, reason, reason_code, check, recipient, out_dir.expanduser(), parse_at(at),
                                            details)
            for message in result.warnings:
                warn(message)
            if json_out:
                print_json(result.to_json())
                return
            done, asked, refused = result.extra["transferred"], result.extra["requested"], result.extra["not_transferred"]
            rows = [[d["case_id"], "transferred", d["bundle"]] for d in done]
            rows += [[d["case_id"], "requested", d["reason"]] for d in asked]
            rows += [[d["case_id"], "not transferred", d["reason"]] for d in refused]
            print_table(["case", "outcome", "detail"], rows, title=f"transfer to {agency_words(ctx, to)}")
            say(f"{len(done)} transferred, {len(asked)} waiting for approval, {len(refused)} not transferred")
            return
        case_id = service.parse_case_id(case)
        result = service.transfer(ctx, case_id, to, reason, reason_code, check, recipient,
                                       out.expanduser() if out else None, parse_at(at), details)
        if result.kind == "transfer":
            done = f"{case_id} transferred to {agency_words(ctx, to)}: the bundle is written; the case is now read-only here (notes and reopening only)"
        else:
            done = f"transfer of {case_id} to {agency_words(ctx, to)} requested: the bundle is written once a supervisor approves"
        report_written(result, json_out, done)

    @app.command("receive")
    def receive(
        file: Path = typer.Argument(..., help="The bundle file from the sending agency."),
        worker: Optional[str] = typer.Option(None, "--worker", help="Assign the case to this worker (default: you)."),
        receipt: Optional[Path] = typer.Option(None, "--receipt", help="Also write a receipt for the sending agency (a new file)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Take in a case another agency transferred: the bundle is decrypted with your key and
        every checksum verified (a damaged or altered bundle is refused and nothing is written);
        the case keeps its ID (or gets a new one if that ID is used here, keeping the old as its
        alias), is encrypted to this team and assigned, in one commit.

        Example: cpcm receive CP-4F7K-9X2N.transfer.age --worker otieno --receipt CP-4F7K-9X2N.receipt.age
        """
        from cpcm import service

        a_file(receipt, "--receipt")
        ctx = open_ctx(repo, identity, earlier=True)  # a bundle sent before your key was replaced opens with the earlier one
        result = service.receive(ctx, _read(file, "bundle"), worker, receipt.expanduser() if receipt else None)
        for message in result.warnings:
            warn(message)
        if json_out:
            print_json(result.to_json())
            return
        got = result.extra
        say(f"received {result.case_id} from {got['from_agency'] or 'the sending agency'}: {got['records']} record(s) carried in "
            f"the bundle; with the record of its arrival (transfer_in) and the assignment, the case holds {got['records_total']} records here "
            f"(as cpcm show counts them), assigned to {got['worker']}" + ("; receipt written" if got["receipt_written"] else ""))
        for step in result.next_steps:
            say(f"next: {step}")

    @app.command("transfer-ack")
    def transfer_ack(
        file: Path = typer.Argument(..., help="The receipt file from the receiving agency."),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record the receiving agency's receipt on the transferred case, so its log shows the
        handover completed (the receipt must match the bundle that was sent).

        Example: cpcm transfer-ack CP-4F7K-9X2N.receipt.age
        """
        from cpcm import service

        ctx = open_ctx(repo, identity, earlier=True)  # as for receive: a receipt made for an earlier key of yours
        result = service.transfer_ack(ctx, _read(file, "receipt"), parse_at(at))
        report_written(result, json_out, f"handover of {result.case_id} acknowledged by the receiving agency")
