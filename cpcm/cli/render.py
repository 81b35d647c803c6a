"""cpcm render: a case's documents (the whole case file, the case plan, the child's plan, the
closure report, the transfer summary, a referral's letter) and a case conference's (agenda, minutes, conference-report), as Markdown or
printable HTML.

To standard output when no --out is given (the user asked to see it); to a file age-encrypted
to the acting worker (and any --recipient) unless --plaintext says otherwise. An encrypted file
is never given a name that opens as a readable document (`plan.html`: refused, exit 2).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (ForceOpt, IdentityOpt, JsonOpt, RepoOpt, check_encrypted_name, open_ctx, out_format, print_json, register_plain, say, to_stdout,
                              warn, write_output)

def _listing_help():
    """The render command's class: its help lists the documents there are, from the same source
    as the message of a wrong name (service.document_names: the shipped templates and the
    repository's own, when one is found), worked out only when the help is shown."""
    from typer.core import TyperCommand

    class ListingHelp(TyperCommand):
        def format_help(self, ctx, formatter) -> None:
            if self.help and DOCUMENTS_AT in self.help:
                # wrapped here, never inside a name ('closure-\nreport' cannot be copied); '\b': kept as wrapped
                import textwrap

                width = max(40, (formatter.width or 80) - formatter.current_indent - 2)
                paragraph = textwrap.fill(_documents_paragraph(), width, break_on_hyphens=False, break_long_words=False)
                self.help = self.help.replace(DOCUMENTS_AT, "\b\n" + paragraph)
            super().format_help(ctx, formatter)

    return ListingHelp


DOCUMENTS_AT = "TEMPLATE: the documents are listed here."  # the paragraph the help fills in


def _documents_paragraph() -> str:
    from cpcm import service
    from cpcm.store.config import resolve_repo

    try:
        root = resolve_repo(None)
    except (OSError, ValueError):  # no current folder, say: the shipped documents only
        root = None
    cases, conferences = service.document_names(root if root is not None and root.is_dir() else None)
    return (f"TEMPLATE, for a case: {', '.join(cases)}; for a conference (CASE is its conference ID): "
            f"{', '.join(conferences)}.")


def register(app: typer.Typer) -> None:
    @app.command("render", cls=_listing_help())
    def render(
        template: str = typer.Argument(..., help="The document (the help above lists them)."),
        case: str = typer.Argument(..., help="Case ID (conference ID for agenda, minutes, conference-report)."),
        ref: Optional[str] = typer.Argument(None, help="For referral-letter: the referral (R1, R2, …)."),
        lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or sw (default: the repository's language).", show_default=False),
        format_: Optional[str] = typer.Option(None, "--format", help="md (Markdown, default) or html (printable on A4; the default when --out ends in .html).", show_default=False),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file, age-encrypted to you (and any --recipient), instead of printing; its name ends in .age (plan.html.age) unless --plaintext.", show_default=False),
        plaintext: bool = typer.Option(False, "--plaintext", help="With --out: write the file unencrypted, readable as plan.html or plan.md (it holds personal data; keep it safe)."),
        recipient: List[str] = typer.Option([], "--recipient", "-r", help="With --out: also encrypt to this age recipient (age1...) or team member id (repeat)."),
        given_to: Optional[str] = typer.Option(None, "--given-to", help="child-file: give the screened file to the child, young_person (who has left care) or representative; recorded in the case (a supervisor or manager, as the policy says).", show_default=False),
        leave_out: List[str] = typer.Option([], "--leave-out", help="child-file: leave this record out too, after screening it (a record ID from the listing; repeat).", show_default=False),
        force: ForceOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Render a case's document: the whole case file, the case plan (the worker's copy) or the
        child's plan, and others, in English or Kiswahili, as Markdown or printable HTML. A plan
        document uses the latest plan version and says whether it is approved (in force) or
        waiting for approval.

        TEMPLATE: the documents are listed here.

        Example: cpcm render case-plan CP-4F7K-9X2N
        Example: cpcm render case-file CP-4F7K-9X2N --format html --out file.html.age
        Example: cpcm render child-plan CP-4F7K-9X2N --lang sw --format html --out plan.html.age
        Example: cpcm render child-plan CP-4F7K-9X2N --format html --out plan.html --plaintext   (to print it)
        Example: cpcm render closure-report CP-4F7K-9X2N --format html --out closure.html.age
        Example: cpcm render minutes CC-4F7K-9X2N --format html --out minutes.html.age
        Example: cpcm render child-file CP-4F7K-9X2N   (the child's own file, to screen: it lists what it leaves out and what to read)
        Example: cpcm render child-file CP-4F7K-9X2N --leave-out 01JD3M8Q6ZK2W4T5V7X9Y0B1C2 --given-to child --format html --out file.html.age
        """
        from cpcm import service
        from cpcm.errors import UsageError

        out = to_stdout(out)  # --out -: printed, as without --out
        fmt = _format(format_, out, not plaintext)
        if out is None and (recipient or plaintext):
            raise UsageError(f"{'--recipient' if recipient else '--plaintext'} needs --out FILE",
                             "Without --out the document is printed to standard output.")
        if plaintext and recipient:
            raise UsageError("--plaintext and --recipient do not go together", "Recipients are for an encrypted file.")
        if out is not None and not plaintext:
            check_encrypted_name(out)
        ctx = open_ctx(repo, identity)
        destination = "stdout" if out is None else ("file" if plaintext else "encrypted_file")
        written = {}

        def write(text: str):  # the child's file given: written before its release is recorded (removed if that fails)
            if out is None:
                return None
            written["data"] = text.encode("utf-8")
            written["file"] = write_output(ctx, out, written["data"], not plaintext, recipient, include_self=True, force=force)
            return written["file"][0]

        rendered = service.render(ctx, template, case, ref, lang, fmt, destination, leave_out=leave_out, given_to=given_to,
                                  write=write if given_to is not None else None)
        for message in rendered.warnings:
            warn(message)
        case_id, lang, text = rendered.subject_id, rendered.lang, rendered.text
        if rendered.screening is not None:
            _say_screening(case_id, rendered.screening, rendered.release, given_to)
        if out is not None and not plaintext and not recipient and rendered.provider_recipient:
            recipient = [rendered.provider_recipient]  # a referral letter: encrypted to the provider (and you) by default
        child = {"screening": rendered.screening, "release_id": rendered.release} if rendered.screening is not None else {}
        if out is None:
            if json_out:
                print_json({"template": template, "case_id": case_id, "out": None, "encrypted": False, "lang": lang,
                            "format": fmt, "document": text, **child})
            else:
                sys.stdout.write(text)
            return
        if "file" in written:
            path, encrypted, readers = written["file"]
        else:
            written["data"] = text.encode("utf-8")
            path, encrypted, readers = write_output(ctx, out, written["data"], not plaintext, recipient, include_self=True, force=force)
        if not encrypted:  # a readable copy out of the encrypted store: in the worker's register (cpcm outputs list)
            register_plain(path, written["data"], f"render {template}", [case_id], ctx=ctx)
        if json_out:
            print_json({"template": template, "case_id": case_id, "out": str(path), "encrypted": encrypted, "lang": lang,
                        "format": fmt, **child})
        if encrypted:
            others = f" and {readers - 1} other recipient{'s' if readers > 2 else ''}" if readers > 1 else ""
            say(f"wrote the --out file: age-encrypted to you{others} (--plaintext writes it unencrypted)")
            say("  read it with: age -d -i YOUR-IDENTITY-FILE FILE")
        else:
            warn("wrote the --out file unencrypted: it holds personal data; keep it safe and delete it when done")


def _say_screening(case_id: str, screening: dict, release: str | None, given_to: str | None) -> None:
    """What the child's own file left out, and the kept records whose free text the worker reads
    before giving it (stderr): sections, record IDs, kinds and field labels, never a value."""
    left = screening["left_out"]
    say(f"the child's own file of {case_id}: {screening['records']} records kept")
    if left:
        say("  left out (about other people):")
        for section, n in left.items():
            parts = [f"{n['records']} record{'s' if n['records'] != 1 else ''}" if n["records"] else "",
                     f"{n['fields']} answer{'s' if n['fields'] != 1 else ''}" if n["fields"] else ""]
            say(f"    {section}: {', '.join(p for p in parts if p)}")
        for r in screening["left_out_records"]:
            say(f"    {r['record_id']} {r['kind']} ({r['section']})")
    if screening["free_text"]:
        warn(f"{len(screening['free_text'])} kept records hold free text, which may name other people: read these parts "
             f"before the file is given, and leave a record out with --leave-out RECORD-ID")
        for r in screening["free_text"]:
            say(f"    {r['record_id']} {r['kind']}: {'; '.join(r['fields'])}")
    if release:
        say(f"recorded: the file was given (record {release}); cpcm log {case_id} shows it")
    else:
        say(f"not given yet (nothing recorded): once screened, give it with cpcm render child-file {case_id} "
            f"--given-to child|young_person|representative")


def _format(option: str | None, out: Path | None, encrypted: bool) -> str:
    """--format, else the format the --out file's name picks (.md, .html, with or without .age
    after), else Markdown; a --format none of these, or a name whose extension is neither, or not
    --format's, is refused (common.out_format: `plan.pdf` would hold Markdown)."""
    from cpcm.render.env import FORMATS

    return out_format(out, option, tuple(FORMATS), encrypted, stem="document") or "md"
