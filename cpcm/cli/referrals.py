"""cpcm consent / service / refer / referral: consent, the service directory and referrals
tracked to an outcome."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, UnusedIdentityOpt, gather, open_ctx, parse_at,
                             print_json, print_table, report_written, say, written)


def register(app: typer.Typer) -> None:
    @app.command("consent")
    def consent(
        cases: List[str] = typer.Argument(..., help="Case ID (with --override, several: the same override in each, one commit).",
                                          metavar="CASE..."),
        purpose: Optional[str] = typer.Option(None, "--purpose", help="registration, assessment, referral, sharing, transfer, placement or reintegration (the policy's list)."),
        by: List[str] = typer.Option([], "--by", help="child or caregiver; both (--by child --by caregiver) to record the child's assent and the caregiver's consent together."),
        status: List[str] = typer.Option([], "--status", help="given, refused or not_possible: once for all, or once per --by in the same order."),
        caregiver_name: Optional[str] = typer.Option(None, "--caregiver-name", help="With --by caregiver: the name of the caregiver who gave it (default: the caregiver registered).", show_default=False),
        relationship: Optional[str] = typer.Option(None, "--relationship", help="With --by caregiver: their relationship to the child (grandmother, uncle ...).", show_default=False),
        explained: List[str] = typer.Option([], "--explained", help="What was explained: information, use, sharing, confidentiality_limits (repeat; 'all' for the four)."),
        agency: Optional[str] = typer.Option(None, "--agency", help="Receiving agency (service id), for referral, sharing, transfer."),
        share: List[str] = typer.Option([], "--share", help="What may be shared (repeat): identity, contact, need, urgency, medical, schooling."),
        how: Optional[str] = typer.Option(None, "--how", help="in_person, phone, letter, electronic, accompanied."),
        until: Optional[str] = typer.Option(None, "--until", help="Valid until (YYYY-MM-DD)."),
        one_off: bool = typer.Option(False, "--one-off", help="For one referral or sharing only."),
        override: bool = typer.Option(False, "--override", help="Supervisor: act without consent on a legal mandate or the child's best interests."),
        basis: Optional[str] = typer.Option(None, "--basis", help="With --override: legal_mandate or best_interests."),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why consent was refused or not possible; with --override, why acting is justified."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record consent or assent for one purpose, from the child or the caregiver, or from
        both together (one record each, one commit); or, as a supervisor, an override where
        consent is refused or not possible.

        Example: cpcm consent CP-4F7K-9X2N --purpose referral --agency kisumu-clinic --by caregiver --status given --explained all --one-off
        Example: cpcm consent CP-4F7K-9X2N --purpose reintegration --by child --by caregiver --status given --caregiver-name "..." --relationship grandmother --explained all
        Example: cpcm consent CP-4F7K-9X2N --override --purpose referral --agency kisumu-clinic --basis best_interests --reason "..."
        Example: cpcm consent CP-4F7K-9X2N CP-BSPS-YPEW --override --purpose registration --basis legal_mandate --reason "committal orders on file"
        """
        from cpcm import service
        from cpcm.errors import UsageError

        ctx = open_ctx(repo, identity)
        case_ids = [service.parse_case_id(case, place if len(cases) > 1 else 0) for place, case in enumerate(cases, start=1)]
        if len(case_ids) > 1 and not override:
            raise UsageError("several cases go with --override only: consent is each child's and family's own answer",
                             "Record each case's consent with its own cpcm consent CASE ...")
        case_id = case_ids[0]
        if override:
            if not purpose:
                raise UsageError("--override needs --purpose")
            if len(case_ids) > 1:
                result = service.consent_override_each(ctx, case_ids, purpose, basis or "", reason or "", agency, parse_at(at))
                report_written(result, json_out, f"consent override recorded for {len(case_ids)} cases ({purpose}), in one commit: "
                                                 + ", ".join(case_ids))
                return
            result = service.consent_override(ctx, case_id, purpose, basis or "", reason or "", agency, parse_at(at))
            report_written(result, json_out, f"consent override recorded for {case_id} ({purpose})")
            return
        from cpcm.domain.forms import confirmed
        from cpcm.domain.profiles import CONSENT_EXPLAINED as EXPLAINED  # what --explained takes

        told, unknown = confirmed(explained, EXPLAINED, "explained")  # 'all' for the four
        if unknown:
            from cpcm.errors import InvalidInput

            raise InvalidInput(unknown, f"consent of {case_id}")
        flags = {"purpose": Opt("--purpose", purpose), "given_by": Opt("--by", (by[0] if len(by) == 1 else list(by)) if by else None),
                 "status": Opt("--status", (status[0] if len(status) == 1 else list(status)) if status else None), "agency": Opt("--agency", agency),
                 "shares": Opt("--share", list(share) or None), "how": Opt("--how", how), "until": Opt("--until", until), "one_off": Opt("--one-off", True if one_off else None), "reason": Opt("--reason", reason),
                 "caregiver_name": Opt("--caregiver-name", caregiver_name), "caregiver_relationship": Opt("--relationship", relationship)}
        for item in EXPLAINED:  # each item's field is given by --explained ITEM; 'all' gives the four
            flags[f"explained.{item}"] = Opt(f"--explained {item}", True if item in told else False if told else None, takes_all=True)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "consent"), from_file, set_, flags, no_input,  # a closed case: consent to share
                      first=lambda given: service.check_writable(ctx, case_id, "consent", given, when, maybe=({"purpose": "sharing"},)))
        result = written(ctx, data, lambda answers: service.consent(ctx, case_id, answers, when))
        givers = result.extra.get("given_by")
        report_written(result, json_out, f"consent recorded for {case_id}" + (f" ({' and '.join(givers)}, {len(givers)} records)"
                                                                               if givers else ""))

    directory = typer.Typer(help="The service directory (.cpcm/services.yaml): providers to refer to.", no_args_is_help=True)
    app.add_typer(directory, name="service")

    @directory.command("add")
    def add(
        service_id: Optional[str] = typer.Argument(None, help="A short id, e.g. kisumu-clinic (or the file's id: with --from-file)."),
        provider: Optional[str] = typer.Option(None, "--provider"), sector: Optional[str] = typer.Option(None, "--sector"),
        offers: List[str] = typer.Option([], "--offers", help="A service offered (repeat)."),
        eligibility: Optional[str] = typer.Option(None, "--eligibility"), location: Optional[str] = typer.Option(None, "--location"),
        coverage: Optional[str] = typer.Option(None, "--coverage"), cost: Optional[str] = typer.Option(None, "--cost"),
        contact: Optional[str] = typer.Option(None, "--contact"), how_to_refer: Optional[str] = typer.Option(None, "--how-to-refer"),
        language: List[str] = typer.Option([], "--language"), recipient: Optional[str] = typer.Option(None, "--recipient", help="The provider's age key (age1…)."),
        contract_reference: Optional[str] = typer.Option(None, "--contract-reference", help="The provider's agreement with the agency: its reference.", show_default=False),
        contract_start: Optional[str] = typer.Option(None, "--contract-start", help="The agreement's first day (YYYY-MM-DD).", show_default=False),
        contract_end: Optional[str] = typer.Option(None, "--contract-end", help="The agreement's last day (YYYY-MM-DD): the referrals report flags it once ended or within 30 days of it.", show_default=False),
        contract_terms: Optional[str] = typer.Option(None, "--contract-terms", help="The agreement's terms: what the provider commits to (never about a child or family).", show_default=False),
        from_file: FromFileOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Add a provider to the directory, with its agreement with the agency where there is one
        (--contract-reference, --contract-start, --contract-end, --contract-terms).

        Example: cpcm service add kisumu-clinic --provider "Kisumu County Clinic" --sector health --offers "child health" --cost free
        Example: cpcm service add safe-house --provider "Tumaini Safe House" --sector shelter --offers "emergency shelter" --contract-reference MOU-2026-04 --contract-start 2026-01-01 --contract-end 2026-12-31
        Example: cpcm service add --from-file clinic.yaml   (cpcm form blank service > clinic.yaml; its id: names it)
        """
        from cpcm import service
        from cpcm.errors import UsageError

        ctx = open_ctx(repo, identity)
        flags = {"provider": Opt("--provider", provider), "sector": Opt("--sector", sector), "services": Opt("--offers", list(offers) or None), "eligibility": Opt("--eligibility", eligibility),
                 "location": Opt("--location", location), "coverage": Opt("--coverage", coverage), "cost": Opt("--cost", cost), "contact": Opt("--contact", contact), "how_to_refer": Opt("--how-to-refer", how_to_refer),
                 "languages": Opt("--language", list(language) or None), "recipient": Opt("--recipient", recipient), "contract.reference": Opt("--contract-reference", contract_reference),
                 "contract.start": Opt("--contract-start", contract_start), "contract.end": Opt("--contract-end", contract_end), "contract.terms": Opt("--contract-terms", contract_terms)}
        data = gather(ctx, service.form_for(ctx, "service"), from_file, None, flags, True, hint=False)
        named = data.get("id")
        if service_id is not None and named not in (None, "", service_id):
            raise UsageError("the service's id is given twice, as SERVICE_ID and as id: in the file, and they differ",
                             "Give one: leave SERVICE_ID out to take the file's, or make them the same.")
        if service_id is None and named in (None, ""):
            raise UsageError("the service's id is missing", "Give it as SERVICE_ID (cpcm service add kisumu-clinic ...) or "
                             "as id: in the file given with --from-file.")
        entry = service.service_add(ctx, {**data, "id": service_id or named})
        if json_out:
            print_json(entry)
        else:
            say(f"service '{entry['id']}' added")

    @directory.command("update")
    def update(service_id: str = typer.Argument(..., help="The service's id, e.g. kisumu-clinic."),
               set_: List[str] = typer.Option([], "--set", help="FIELD=VALUE, the fields as 'cpcm form blank service' names them "
                                                            "(repeat); an empty value removes the field."),
               from_file: FromFileOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Change a provider's entry in the directory: its agreement renewed, a new contact, a
        service it now offers. The fields given replace those of the entry; the entry is checked as
        a new one is; one commit.

        Example: cpcm service update safe-house --set contract.end=2027-12-31 --set contract.reference=MOU-2027-01
        Example: cpcm service update kisumu-clinic --set contact="0700 000 111"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        data = gather(ctx, service.form_for(ctx, "service"), from_file, set_, {}, True, hint=False)
        entry, changed = service.service_update(ctx, service_id, data)
        if json_out:
            print_json({"service": entry, "changed": changed})
        else:
            say(f"service '{entry['id']}' updated: {', '.join(changed)}")

    @directory.command("import")
    def import_(file: Path = typer.Argument(..., help="A CSV file: one service a row; columns as in 'cpcm form blank service'."),
                dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and write nothing."),
                repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Import services from a spreadsheet (CSV); every row is checked first and one bad row
        means nothing is written.

        Example: cpcm service import providers.csv --dry-run
        """
        from cpcm import service
        from cpcm.domain.text import MAX_TABLE_BYTES, decode
        from cpcm.errors import NotFound

        ctx = open_ctx(repo, identity)
        try:
            text = decode(file.read_bytes(), "FILE", MAX_TABLE_BYTES)
        except OSError as exc:
            raise NotFound(f"cannot read FILE: {exc.strerror}") from None
        entries = service.service_import(ctx, text, dry_run)
        if json_out:
            print_json({"imported": 0 if dry_run else len(entries), "checked": len(entries), "ids": [e["id"] for e in entries]})
        else:
            say(f"{len(entries)} service(s) {'checked, nothing written (--dry-run)' if dry_run else 'imported'}")

    @directory.command("list")
    def list_(sector: Optional[str] = typer.Option(None, "--sector"), repo: RepoOpt = None, identity: UnusedIdentityOpt = None,
              json_out: JsonOpt = False) -> None:
        """The services in the directory.

        Example: cpcm service list --sector health
        """
        from cpcm.store import directory as directory_mod

        ctx = open_ctx(repo, None, need_identity=False)
        services = [s for s in directory_mod.load(ctx.store) if not sector or s.get("sector") == sector]
        if json_out:
            print_json(services)
        else:
            print_table(["id", "provider", "sector", "services", "location", "cost", "contact"],
                        [[s["id"], s.get("provider"), s.get("sector"), "; ".join(s.get("services", [])), s.get("location"), s.get("cost"),
                          s.get("contact")] for s in services])

    @directory.command("show")
    def show(service_id: str = typer.Argument(...), repo: RepoOpt = None, identity: UnusedIdentityOpt = None,
             json_out: JsonOpt = False) -> None:
        """One service with everything the directory knows of it.

        Example: cpcm service show kisumu-clinic
        """
        from cpcm import service

        entry = service.service_get(open_ctx(repo, None, need_identity=False), service_id)
        if json_out:
            print_json(entry)
        else:
            rows = []
            for key, value in entry.items():  # the agreement's fields one a row: contract.end
                for name, shown in (value.items() if isinstance(value, dict) else [(None, value)]):
                    rows.append([f"{key}.{name}" if name else key, "; ".join(shown) if isinstance(shown, list) else shown])
            print_table(["field", "value"], rows)

    @directory.command("gaps")
    def gaps(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Needs in your open cases that no service in the directory answers (counts only).

        Example: cpcm service gaps
        """
        from cpcm import service

        found = service.service_gaps(open_ctx(repo, identity))
        if json_out:
            print_json(found)
        else:
            print_table(["need", "open cases"], [[g["need"], g["cases"]] for g in found], title="Needs with no provider")

    @app.command("refer")
    def refer(
        case: str = typer.Argument(..., help="Case ID."),
        service_id: Optional[str] = typer.Option(None, "--service", help="A service id from the directory (cpcm service list)."),
        need: Optional[str] = typer.Option(None, "--need", help="The need this referral answers (required)."),
        urgent: bool = typer.Option(False, "--urgent"), accompany: bool = typer.Option(False, "--accompany", help="The worker goes with the child."),
        check: List[str] = typer.Option([], "--check", help="A check done before referring (repeat): eligibility_known, need_matched, cost_distance_considered, provider_told; 'all' for the four."),
        action: Optional[str] = typer.Option(None, "--action", help="The ID of the plan action (A1, A2 …) this referral carries out."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Refer a case to a service: needs valid consent for that agency (or an override) and
        carries only what the policy allows that sector to see. The fields come from the options,
        a file (cpcm form blank referral) or, on a terminal, the questions.

        Example: cpcm refer CP-4F7K-9X2N --service kisumu-clinic --need "treatment for malnutrition" --check all --action A3
        Example: cpcm form blank referral > referral.yaml; cpcm refer CP-4F7K-9X2N --from-file referral.yaml
        """
        from cpcm import service
        from cpcm.domain.forms import confirmed
        from cpcm.service.referrals import CHECK_ASKED
        from cpcm.service.wording import say_for
        from cpcm.workflow.referrals import CHECKS

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        told, unknown = confirmed(check, CHECKS[:4], "check")  # 'all' for the four; a word that is none of them is named with the rest
        flags = {"service": Opt("--service", service_id), "need": Opt("--need", need), "urgent": Opt("--urgent", True if urgent else None),
                 "accompany": Opt("--accompany", True if accompany else None), "action": Opt("--action", action)}
        for item in CHECKS[:4]:  # each check's field is given by --check ITEM; 'all' gives the four
            flags[f"checks.{item}"] = Opt(f"--check {item}", True if item in told else None, takes_all=True)
        required = ctx.policy.get("referral_checks", "required") or ()
        when = parse_at(at)
        # the options give all a referral needs (the service, the need, the checks the policy asks): nothing is asked, as
        # before the questions came; the questions ask what is missing
        complete = bool(service_id and need and need.strip() and all(item in told for item in required))
        data = gather(ctx, service.form_for(ctx, "referral"), from_file, set_, flags, no_input or complete,
                      needed=lambda key, _answers: say_for(ctx)(CHECK_ASKED)
                      if key.startswith("checks.") and key.partition(".")[2] in required else None,
                      first=lambda given: service.check_referable(ctx, case_id, given, when))
        result = written(ctx, data, lambda answers: service.refer(ctx, case_id, answers, when, also=unknown))
        report_written(result, json_out, f"referral recorded for {case_id}")

    @app.command("referral")
    def referral(
        case: str = typer.Argument(..., help="Case ID."),
        ref: str = typer.Argument(..., help="The referral: R1, R2, … (see cpcm show)."),
        status: Optional[str] = typer.Option(None, "--status", help="acknowledged, accepted, declined, delivered, not_delivered or closed (required)."),
        start: Optional[str] = typer.Option(None, "--start", help="With accepted: the date the service starts."),
        expected_duration: Optional[str] = typer.Option(None, "--expected-duration", help="With accepted: e.g. 6w, 3mo."),
        feedback: Optional[str] = typer.Option(None, "--feedback", help="What the provider said (with declined, delivered, not_delivered)."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Track a referral to its outcome (delivered before accepted is refused, with the reason).
        The fields come from the options, a file (cpcm form blank referral-update) or, on a
        terminal, the questions, which ask what the status needs.

        Example: cpcm referral CP-4F7K-9X2N R1 --status accepted --start 2026-12-01 --expected-duration 3mo
        Example: cpcm form blank referral-update > update.yaml; cpcm referral CP-4F7K-9X2N R1 --from-file update.yaml
        """
        from cpcm import service
        from cpcm.workflow.referrals import update_problems

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        # a refusal names the options typed (--start (start): is required), not only the record's fields
        flags = {"status": Opt("--status", status), "start": Opt("--start", start),
                 "expected_duration": Opt("--expected-duration", expected_duration), "feedback": Opt("--feedback", feedback)}
        when = parse_at(at)
        # the options give the status and what it needs (the start and duration of an acceptance, an outcome's feedback):
        # nothing is asked, as before the questions came; the questions ask what is missing
        complete = bool(status) and not update_problems(status, {"start": start, "expected_duration": expected_duration,
                                                                  "feedback": feedback})
        data = gather(ctx, service.form_for(ctx, "referral_update"), from_file, set_, flags, no_input or complete,
                      # what the status answered needs (an acceptance its start and duration, an outcome the feedback): asked as required
                      needed=lambda key, answers: next((e.reason for e in update_problems(str(answers.get("status") or ""), answers)
                                                        if e.field == key), None),
                      first=lambda given: service.referral_writable(ctx, case_id, ref, given, when),
                      narrow=_next_statuses)
        result = written(ctx, data, lambda answers: service.referral(ctx, case_id, ref, answers, when))
        report_written(result, json_out, f"referral {ref.upper()} of {case_id} is now {result.extra['status']}")


def _next_statuses(form, found):
    """The referral-update form as its questions ask it of the referral `found`: its status question
    offers only the statuses the referral can take next (workflow/referrals.py LIFECYCLE), so a status
    it cannot take is refused at the question, naming those it can, and asked again, rather than
    after every other answer."""
    from dataclasses import replace

    from cpcm.workflow.referrals import LIFECYCLE

    allowed = LIFECYCLE.get(found["status"], ())
    return replace(form, fields=tuple(replace(f, choices=tuple(c for c in f.choices if c in allowed)) if f.key == "status" else f
                                      for f in form.fields))
