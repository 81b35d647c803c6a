"""cpcm register: identify and register a child."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             print_json, say, warn, written)
from cpcm.service.cases import duplicate_reason


def register(app: typer.Typer) -> None:
    @app.command("register")
    def register_(
        name: Optional[str] = typer.Option(None, "--name", help="Child's name (leave out when unknown). Prefer --from-file or the prompts: a name on the command line can show in the process list."),
        sex: Optional[str] = typer.Option(None, "--sex", help="female, male, other or unknown."),
        dob: Optional[str] = typer.Option(None, "--dob", help="Date of birth, YYYY-MM-DD."),
        age: Optional[int] = typer.Option(None, "--age", help="Estimated age in years, when the date of birth is not known."),
        disability: Optional[str] = typer.Option(None, "--disability", help="yes, no or unknown."),
        location: Optional[str] = typer.Option(None, "--location", help="Where the child lives now."),
        lives_with: Optional[str] = typer.Option(None, "--lives-with", help="Who the child lives with (e.g. relatives, nobody)."),
        caregiver: Optional[str] = typer.Option(None, "--caregiver", help="Main caregiver's name."),
        contact: Optional[str] = typer.Option(None, "--contact", help="How to reach the child or caregiver."),
        identified_by: Optional[str] = typer.Option(None, "--identified-by", help="self, family, community_member, volunteer, authority, service_provider, other."),
        concern: List[str] = typer.Option([], "--concern", help="An initial protection concern (repeat for several)."),
        case_category: List[str] = typer.Option([], "--case-category", help="kenya profile: a national case category (repeat; cpcm form blank registration lists them)."),
        criteria: Optional[str] = typer.Option(None, "--criteria", metavar="ID,ID", help="The eligibility criteria the child meets: ids of the policy's (cpcm policy show, rule eligibility), separated by commas."),
        registration_place: Optional[str] = typer.Option(None, "--registration-place", help="Where the registration took place (office, facility, ward)."),
        risk: Optional[str] = typer.Option(None, "--risk", help="immediate, high, medium or low."),
        need: List[str] = typer.Option([], "--need", help="An immediate need (repeat for several)."),
        worker: Optional[str] = typer.Option(None, "--worker", help="Assigned worker's id (default: you)."),
        child_consent: Optional[str] = typer.Option(None, "--child-consent", help="Child's assent: given, refused, not_possible."),
        caregiver_consent: Optional[str] = typer.Option(None, "--caregiver-consent", help="Caregiver's consent: given, refused, not_possible."),
        sibling_of: Optional[str] = typer.Option(None, "--sibling-of", metavar="CASE", help="A brother's or sister's case: start from its family and home fields (where and with whom the child lives, caregiver, contact, how identified, registration place), and link the two cases as siblings."),
        from_file: FromFileOpt = None, set_: SetOpt = None,
        at: AtOpt = None,
        no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Register a child: prints the new case ID, and warns of a probable duplicate.

        Example: cpcm register --from-file child.yaml     (skeleton: cpcm form blank registration)
        Example: cpcm register    (on a terminal: guided questions)
        Example: cpcm register --from-file child.yaml --set child.birth_certificate=12345678
        Example: cpcm register --from-file child.yaml --criteria separated_or_unaccompanied,high_risk_of_harm
        Example: cpcm register --sibling-of CP-4F7K-9X2N --from-file brother.yaml     (the family part from the sister's case)
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        sibling = service.parse_case_id(sibling_of) if sibling_of is not None else None
        base = service.sibling_fields(ctx, sibling) if sibling is not None else None  # refused before any question
        flags = {
            "child.name": Opt("--name", name), "child.sex": Opt("--sex", sex), "child.date_of_birth": Opt("--dob", dob), "child.age_estimate": Opt("--age", age),
            "child.disability": Opt("--disability", disability), "location": Opt("--location", location), "lives_with": Opt("--lives-with", lives_with), "caregiver.name": Opt("--caregiver", caregiver),
            "contact": Opt("--contact", contact), "identified_by": Opt("--identified-by", identified_by), "concerns": Opt("--concern", list(concern) or None), "risk": Opt("--risk", risk),
            "immediate_needs": Opt("--need", list(need) or None), "worker": Opt("--worker", worker), "consent.child": Opt("--child-consent", child_consent),
            "consent.caregiver": Opt("--caregiver-consent", caregiver_consent), "case_categories": Opt("--case-category", list(case_category) or None),
            "registration_place": Opt("--registration-place", registration_place), "criteria": Opt("--criteria", criteria),
        }
        data = gather(ctx, service.form_for(ctx, "registration"), from_file, set_, flags, no_input, base=base,
                      base_from=sibling or "")
        when = parse_at(at)
        result = written(ctx, data, lambda answers: service.register(ctx, answers, when, sibling_of=sibling))
        for message in result.warnings:
            warn(message)
        for duplicate in result.extra["possible_duplicates"]:
            reason = duplicate_reason(duplicate)  # with the cases found that were merged into it: named by the child's case
            if duplicate.get("status") in ("closed", "transferred"):  # the child's earlier case: reopen it (IAG Step 6)
                warn(f"possible duplicate of {duplicate['case_id']} ({reason}), which is {duplicate['status']}; "
                     f"if it is the same child, reopen it rather than work on a new case (cpcm reopen {duplicate['case_id']} "
                     f"--reason ...), and a supervisor or manager links the two: cpcm merge-cases {duplicate['case_id']} "
                     f"{result.subject_id}")
                continue
            warn(f"possible duplicate of {duplicate['case_id']} ({reason}); check before working on both; "
                 f"if it is the same child, a supervisor or manager links them: cpcm merge-cases {duplicate['case_id']} "
                 f"{result.subject_id}")
        if json_out:
            print_json(result.to_json())
        else:
            linked = result.extra.get("siblings") or []
            say(f"registered {result.case_id}" + (f", linked as a sibling of {', '.join(linked)}" if linked else ""))
            for step in result.next_steps:
                say(f"next: {step}")
            typer.echo(result.case_id)
