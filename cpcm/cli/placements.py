"""cpcm placement / tracing / family-assessment / preparation: where the child lives, and the steps
of reintegration (docs/commands/placements.md)."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             report_written, written)


def register(app: typer.Typer) -> None:
    @app.command("placement")
    def placement(
        case: str = typer.Argument(..., help="Case ID."),
        care_type: Optional[str] = typer.Option(None, "--care-type", help="family, kinship, kafaalah, foster_care, guardianship, adoption, supported_child_headed_household, supported_independent_living, aftercare, temporary_shelter (a place of safety), institutional_care (a CCI) or emergency_care.", show_default=False),
        formal: Optional[str] = typer.Option(None, "--formal", help="formal (a court or administrative decision) or informal.", show_default=False),
        institution: Optional[str] = typer.Option(None, "--institution", help="Residential care: the institution's name.", show_default=False),
        caregiver: Optional[str] = typer.Option(None, "--caregiver", help="The caregiver's name.", show_default=False),
        relationship: Optional[str] = typer.Option(None, "--relationship", help="The caregiver's relationship to the child.", show_default=False),
        address: Optional[str] = typer.Option(None, "--address", help="Where the child lives.", show_default=False),
        contact: Optional[str] = typer.Option(None, "--contact", help="The caregiver's phone.", show_default=False),
        best_interests: Optional[str] = typer.Option(None, "--best-interests", help="The best-interests record's ID (default: the latest since the current placement began).", show_default=False),
        court_order: Optional[str] = typer.Option(None, "--court-order", help="The court order's number.", show_default=False),
        court_order_date: Optional[str] = typer.Option(None, "--court-order-date", help="The court order's date (YYYY-MM-DD).", show_default=False),
        court_order_expires: Optional[str] = typer.Option(None, "--court-order-expires", help="When the court order expires (YYYY-MM-DD): a deadline on cpcm due.", show_default=False),
        acc: Optional[str] = typer.Option(None, "--acc", help="The alternative care committee's decision: its reference or minute.", show_default=False),
        acc_date: Optional[str] = typer.Option(None, "--acc-date", help="The date of the ACC's decision.", show_default=False),
        cci_exit: Optional[str] = typer.Option(None, "--cci-exit", help="Leaving residential care: family_reintegration, alternative_family_based_care or community_based_care.", show_default=False),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why this placement.", show_default=False),
        override_reason: Optional[str] = typer.Option(None, "--override-reason", help="A supervisor or manager: place without a best-interests record, for this reason.", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record where and with whom the child lives from a date (--at): admission to a CCI or a
        place of safety, reunification, kinship or foster care, a court order renewed. A placement
        into care, out of it or between placements needs a best-interests record first.

        Example: cpcm placement CP-4F7K-9X2N --care-type institutional_care --institution "Tumaini Children's Home" --court-order "CC 12/2026" --court-order-expires 2026-07-12 --at 2026-01-12
        Example: cpcm placement CP-4F7K-9X2N --care-type kinship --caregiver "..." --relationship grandmother --address "..." --cci-exit family_reintegration
        Example: cpcm form blank placement > placement.yaml; cpcm placement CP-4F7K-9X2N --from-file placement.yaml
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        flags = {"care_type": Opt("--care-type", care_type), "formal": Opt("--formal", formal), "institution": Opt("--institution", institution), "caregiver.name": Opt("--caregiver", caregiver),
                 "caregiver.relationship": Opt("--relationship", relationship), "address": Opt("--address", address), "contact": Opt("--contact", contact),
                 "decision.best_interests": Opt("--best-interests", best_interests), "decision.court_order.number": Opt("--court-order", court_order),
                 "decision.court_order.date": Opt("--court-order-date", court_order_date), "decision.court_order.expires": Opt("--court-order-expires", court_order_expires),
                 "decision.acc": Opt("--acc", acc), "decision.acc_date": Opt("--acc-date", acc_date), "cci_exit": Opt("--cci-exit", cci_exit), "reason": Opt("--reason", reason)}
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "placement"), from_file, set_, flags, no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "placement", given, when))
        result = written(ctx, data, lambda answers: service.placement(ctx, case_id, answers, when, override_reason))
        report_written(result, json_out, f"placement recorded for {case_id}: {result.extra['care_type']}")

    @app.command("tracing")
    def tracing(
        case: str = typer.Argument(..., help="Case ID."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="family_found, not_found or ongoing.", show_default=False),
        source: List[str] = typer.Option([], "--source", help="Where the information came from (repeat): records, child, institution_staff, community, fieldwork, other."),
        no_trace_proof: Optional[str] = typer.Option(None, "--no-trace-proof", help="When no family is found: the proof-of-no-trace document.", show_default=False),
        notes: Optional[str] = typer.Option(None, "--notes", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record family tracing: who was traced (name, relationship, found, willing), from
        what, and the outcome. The people traced are a list: give them in a file, at the prompts,
        or entry by entry with --set people.1.name=... --set people.2.name=...

        Example: cpcm form blank tracing > tracing.yaml; cpcm tracing CP-4F7K-9X2N --from-file tracing.yaml
        Example: cpcm tracing CP-4F7K-9X2N --outcome ongoing --source child --set people.1.name="..." --set people.1.relationship=aunt --set people.1.found=yes
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "tracing"), from_file, set_,
                      {"outcome": Opt("--outcome", outcome), "sources": Opt("--source", list(source) or None), "no_trace_proof": Opt("--no-trace-proof", no_trace_proof), "notes": Opt("--notes", notes)},
                      no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "tracing", given, when))
        report_written(written(ctx, data, lambda answers: service.tracing(ctx, case_id, answers, when)), json_out, f"family tracing recorded for {case_id}")

    @app.command("family-assessment")
    def family_assessment(
        case: str = typer.Argument(..., help="Case ID."),
        family: Optional[str] = typer.Option(None, "--family", help="family_of_origin, extended_family, foster_family, adoptive_family or other.", show_default=False),
        recommendation: Optional[str] = typer.Option(None, "--recommendation", help="reunify, reunify_with_support, family_based_alternative_care, not_yet or not_suitable.", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a family assessment: can this family receive the child? The caregiving capacity
        and the family and environmental factors, each rated, the family's willingness, the
        child's views and the recommendation.

        Example: cpcm form blank family-assessment > family.yaml; cpcm family-assessment CP-4F7K-9X2N --from-file family.yaml
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "family_assessment"), from_file, set_,
                      {"family": Opt("--family", family), "recommendation": Opt("--recommendation", recommendation)}, no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "family_assessment", given, when))
        report_written(written(ctx, data, lambda answers: service.family_assessment(ctx, case_id, answers, when)), json_out,
                       f"family assessment recorded for {case_id}")

    @app.command("preparation")
    def preparation(
        case: str = typer.Argument(..., help="Case ID."),
        with_: List[str] = typer.Option([], "--with", help="Who was prepared (repeat): child, family, community."),
        method: Optional[str] = typer.Option(None, "--method", help="home_visit, visit_at_institution, office, phone, community_meeting or other.", show_default=False),
        done: Optional[str] = typer.Option(None, "--done", help="What was done.", show_default=False),
        child_agrees: Optional[str] = typer.Option(None, "--child-agrees", help="yes, no or not_asked.", show_default=False),
        family_agrees: Optional[str] = typer.Option(None, "--family-agrees", help="yes, no or not_asked.", show_default=False),
        next_step: Optional[str] = typer.Option(None, "--next-step", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a session preparing the child, the family or the community for reintegration
        (a visit, what was done, whether each agrees).

        Example: cpcm preparation CP-4F7K-9X2N --with child --with family --method home_visit --done "day visit home; talked through school change" --child-agrees yes --family-agrees yes
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "preparation"), from_file, set_,
                      {"with": Opt("--with", list(with_) or None), "method": Opt("--method", method), "what_was_done": Opt("--done", done), "child_agrees": Opt("--child-agrees", child_agrees),
                       "family_agrees": Opt("--family-agrees", family_agrees), "next_step": Opt("--next-step", next_step)}, no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "preparation", given, when))
        report_written(written(ctx, data, lambda answers: service.preparation(ctx, case_id, answers, when)), json_out, f"preparation recorded for {case_id}")
