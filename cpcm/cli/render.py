"""cpcm render: a case's documents (the case plan, the child's plan, the closure report, the
transfer summary) and a case conference's (agenda, minutes, conference-report), as Markdown or
printable HTML.

To standard output when no --out is given (the user asked to see it); to a file age-encrypted
to the acting worker (and any --recipient) unless --plaintext says otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import IdentityOpt, JsonOpt, RepoOpt, open_ctx, print_json, say, warn, write_output

HTML_SUFFIXES = (".html", ".htm", ".html.age", ".htm.age")


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render(
        template: str = typer.Argument(..., help="The document: case-plan, child-plan, closure-report or transfer-summary (or one your agency adds) for a case; agenda, minutes or conference-report for a conference."),
        case: str = typer.Argument(..., help="Case ID (conference ID for agenda, minutes, conference-report)."),
        ref: Optional[str] = typer.Argument(None, help="For referral-letter: the referral (R1, R2, …)."),
        lang: Optional[str] = typer.Option(None, "--lang", "-l", help="en or sw (default: the repository's language).", show_default=False),
        format_: Optional[str] = typer.Option(None, "--format", help="md (Markdown, default) or html (printable on A4; the default when --out ends in .html).", show_default=False),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file, age-encrypted to you (and any --recipient), instead of printing.", show_default=False),
        plaintext: bool = typer.Option(False, "--plaintext", help="With --out: write the file unencrypted (it holds personal data; keep it safe)."),
        recipient: List[str] = typer.Option([], "--recipient", "-r", help="With --out: also encrypt to this age recipient (age1...) or team member id (repeat)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Render a case's document: the case plan (the worker's copy) or the child's plan, in
        English or Kiswahili, as Markdown or printable HTML. The latest plan version is used; the
        document says whether it is approved (in force) or waiting for approval.

        Example: cpcm render case-plan CP-4F7K-9X2M
        Example: cpcm render child-plan CP-4F7K-9X2M --lang sw --format html --out plan.html.age
        Example: cpcm render child-plan CP-4F7K-9X2M --format html --out plan.html --plaintext   (to print it)
        Example: cpcm render closure-report CP-4F7K-9X2M --format html --out closure.html.age
        Example: cpcm render minutes CC-4F7K-9X2M --format html --out minutes.html.age
        """
        from cpcm import service
        from cpcm.errors import UsageError

        fmt = _format(format_, out)
        if out is None and (recipient or plaintext):
            raise UsageError(f"{'--recipient' if recipient else '--plaintext'} needs --out FILE",
                             "Without --out the document is printed to standard output.")
        if plaintext and recipient:
            raise UsageError("--plaintext and --recipient do not go together", "Recipients are for an encrypted file.")
        from cpcm.workflow.conferences import DOCUMENTS as CONFERENCE_DOCUMENTS

        ctx = open_ctx(repo, identity)
        if template in CONFERENCE_DOCUMENTS:  # a conference's document: recorded in its folder (one commit)
            from cpcm.service import conferences

            case_id = conferences.parse_conference_id(case)
            lang = _language(ctx, template, lang, fmt)
            text = conferences.document(ctx, template, case_id, lang, fmt, "stdout" if out is None else ("file" if plaintext else "encrypted_file"))
        else:
            case_id = service.parse_case_id(case)
            lang = _language(ctx, template, lang, fmt)
            if template == "referral-letter":
                text, provider_key = referral_letter(ctx, case_id, ref, lang, fmt)
                if out is not None and not plaintext and not recipient and provider_key:
                    recipient = [provider_key]  # encrypted to the provider (and you) by default
            else:
                text = document(ctx, template, case_id, lang, fmt)
        if not text.endswith("\n"):
            text += "\n"
        if out is None:
            if json_out:
                print_json({"template": template, "case_id": case_id, "out": None, "encrypted": False, "lang": lang,
                            "format": fmt, "document": text})
            else:
                sys.stdout.write(text)
            return
        path, encrypted, readers = write_output(ctx, out, text.encode("utf-8"), not plaintext, recipient, include_self=True)
        if json_out:
            print_json({"template": template, "case_id": case_id, "out": str(path), "encrypted": encrypted, "lang": lang,
                        "format": fmt})
        if encrypted:
            others = f" and {readers - 1} other recipient{'s' if readers > 2 else ''}" if readers > 1 else ""
            say(f"wrote {path}: age-encrypted to you{others} (--plaintext writes it unencrypted)")
            say(f"  read it with: age -d -i YOUR-IDENTITY-FILE {path}")
        else:
            warn(f"wrote {path} unencrypted: it holds personal data; keep it safe and delete it when done")


def _format(option: str | None, out: Path | None) -> str:
    from cpcm.errors import UsageError
    from cpcm.render.env import FORMATS

    if option is None:
        return "html" if out is not None and out.name.lower().endswith(HTML_SUFFIXES) else "md"
    fmt = option.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format: '{option}' is not one of: {', '.join(FORMATS)}")
    return fmt


def _documents(ctx) -> dict[str, set[tuple[str, str]]]:
    """The documents that can be rendered: a view for them, and at least one template."""
    from cpcm.render import env, views
    from cpcm.workflow.conferences import DOCUMENTS as CONFERENCE_DOCUMENTS

    found = env.available(ctx.root)
    return {name: found[name] for name in (*views.documents(), *CONFERENCE_DOCUMENTS) if name in found}


def _language(ctx, template: str, option: str | None, fmt: str) -> str:
    """--lang, else the repository's language; exit 3 (listing what there is) when there is
    no such document or no template for it in that language and format."""
    from cpcm.errors import NotFound

    documents = _documents(ctx)
    if template not in documents:
        raise NotFound(f"no template '{template}'", f"Templates: {', '.join(sorted(documents))}.")
    variants = documents[template]
    languages = sorted({lang for lang, f in variants if f == fmt})
    wanted = (option or ctx.config.language or "en").strip().lower()
    if (wanted, fmt) in variants:
        return wanted
    if option is None and ("en", fmt) in variants:
        warn(f"no {template} template in the repository's language '{wanted}' ({fmt}); using English")
        return "en"
    raise NotFound(f"no {template} template in '{wanted}' as {fmt}",
                   f"Languages for {template} as {fmt}: {', '.join(languages) or 'none'}.")


def document(ctx, template: str, case_id: str, lang: str, fmt: str) -> str:
    """The rendered document for the case's latest plan version (or, for a closure report or
    a transfer summary, for the case's whole file)."""
    from cpcm import service
    from cpcm.errors import NotFound
    from cpcm.render import env, views
    from cpcm.workflow.fold import fold

    records = service.load_records(ctx, case_id)  # decrypted once: the fold and the plan's body
    case = fold(case_id, records)
    if template in views.CASE_VIEWS:  # closure-report, transfer-summary: the whole file (exit 4 when there is none)
        view = views.CASE_VIEWS[template](
            case, records, ctx.policy, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
            services=_service_names(ctx), agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name},
        )
        return env.render(template, lang, fmt, view, ctx.root)
    if not case.plan:
        raise NotFound(f"{case_id} has no case plan yet", f"Record one first: cpcm plan {case_id}")
    plan_record = next(r for r in records if r.id == case.plan["record_id"])
    view = views.VIEWS[template](
        case, plan_record, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        approval_required=bool(ctx.policy.get("plan_approval", "required", True)),
    )
    return env.render(template, lang, fmt, view, ctx.root)


def referral_letter(ctx, case_id: str, ref: str | None, lang: str, fmt: str) -> tuple[str, str | None]:
    """A referral's letter, holding exactly what the referral was allowed to share; and the
    provider's age recipient from the service directory, when it has one."""
    from cpcm import service
    from cpcm.store import directory
    from cpcm.errors import NotFound, UsageError
    from cpcm.render import env, views
    from cpcm.workflow.fold import fold

    if not ref:
        raise UsageError("referral-letter needs the referral: cpcm render referral-letter CASE R1")
    records = service.load_records(ctx, case_id)
    case = fold(case_id, records)
    entry = case.referral(ref)
    if entry is None:
        raise NotFound(f"{case_id} has no referral '{ref}'", f"Its referrals: {', '.join(r['ref'] for r in case.referrals) or 'none'}.")
    record = next(r for r in records if r.id == entry["record_id"])
    provider = directory.find(directory.load(ctx.root), entry["service"])
    limit = ctx.policy.duration("referral_feedback", "limit")
    view = views.referral_letter_view(
        case, record, provider, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name},
        feedback_days=(limit.after(ctx.now) - ctx.now).days,
    )
    return env.render("referral-letter", lang, fmt, view, ctx.root), (provider or {}).get("recipient")


def _service_names(ctx) -> dict[str, str]:
    """Service id -> provider name, from the service directory (for referrals and transfers)."""
    from cpcm.store import directory

    return {str(s.get("id")): str(s.get("provider") or "") for s in directory.load(ctx.root) if s.get("id")}
