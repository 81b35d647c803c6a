"""cpcm update: change a child's registration details, keeping every earlier value."""
from __future__ import annotations

from typing import Any, List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, open_ctx, option_values, parse_at, read_yaml_input,
                             put_options, report_written, set_pairs, stdin_is_terminal)
from cpcm.errors import Refused


def register(app: typer.Typer) -> None:
    @app.command("update")
    def update(
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why the details changed (required; asked for on a terminal)."),
        name: Optional[str] = typer.Option(None, "--name", help="Child's name. Prefer --from-file or the prompts: a name on the command line can show in the process list."),
        sex: Optional[str] = typer.Option(None, "--sex", help="female, male, other or unknown."),
        dob: Optional[str] = typer.Option(None, "--dob", help="Date of birth, YYYY-MM-DD (clear an estimated age with --set child.age_estimate=)."),
        age: Optional[int] = typer.Option(None, "--age", help="Estimated age in years."),
        birth_certificate: Optional[str] = typer.Option(None, "--birth-certificate", help="Birth certificate number."),
        disability: Optional[str] = typer.Option(None, "--disability", help="yes, no or unknown."),
        location: Optional[str] = typer.Option(None, "--location", help="Where the child lives now."),
        lives_with: Optional[str] = typer.Option(None, "--lives-with", help="Who the child lives with (e.g. relatives, nobody)."),
        caregiver: Optional[str] = typer.Option(None, "--caregiver", help="Main caregiver's name."),
        caregiver_relationship: Optional[str] = typer.Option(None, "--caregiver-relationship", help="The caregiver's relationship to the child."),
        contact: Optional[str] = typer.Option(None, "--contact", help="How to reach the child or caregiver."),
        registration_place: Optional[str] = typer.Option(None, "--registration-place", help="Where the registration took place."),
        identified_by: Optional[str] = typer.Option(None, "--identified-by", help="self, family, community_member, volunteer, authority, service_provider, other."),
        concern: List[str] = typer.Option([], "--concern", help="The protection concerns (repeat; replaces the list)."),
        need: List[str] = typer.Option([], "--need", help="The immediate needs (repeat; replaces the list)."),
        child_consent: Optional[str] = typer.Option(None, "--child-consent", help="Child's assent to registration: given, refused, not_possible."),
        caregiver_consent: Optional[str] = typer.Option(None, "--caregiver-consent", help="Caregiver's consent to registration: given, refused, not_possible."),
        sets: SetOpt = None, from_file: FromFileOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Change the child's registration details (a new address, a caregiver traced, a birth
        certificate): an update record with the reason. The case uses the new values from now
        on; the registration and earlier updates keep theirs (cpcm log, cpcm show CASE RECORD).
        A field set empty (--set location=) is removed. On a terminal with nothing given, each
        field is asked for with its current value.

        Example: cpcm update CP-4F7K-9X2N --location "Kondele, Kisumu" --caregiver-relationship grandmother --reason "reunified"
        """
        from cpcm import service
        from cpcm.domain.setpaths import check_paths, put_pairs
        from cpcm.errors import UsageError
        from cpcm.store import forms

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        data: dict[str, Any] = {}
        if from_file:
            loaded = read_yaml_input(from_file)
            if loaded is not None and not isinstance(loaded, dict):
                raise UsageError("--from-file: an update is a YAML mapping of registration fields (key: value)",
                                 "cpcm form blank registration lists the fields.")
            data = loaded or {}
            if "reason" in data and reason is None:
                reason = str(data.pop("reason") or "")
        pairs = []
        if sets:
            form = forms.load(service.form_for(ctx, "registration"), ctx.root)
            pairs = set_pairs(sets, "caregiver.name='...'")
            check_paths(form, pairs)  # before a clash could show a key of no field (`gather`)
            put_pairs(form, data, pairs)
        flags = {
            "child.name": Opt("--name", name), "child.sex": Opt("--sex", sex), "child.date_of_birth": Opt("--dob", dob), "child.age_estimate": Opt("--age", age),
            "child.birth_certificate": Opt("--birth-certificate", birth_certificate), "child.disability": Opt("--disability", disability), "location": Opt("--location", location),
            "lives_with": Opt("--lives-with", lives_with), "caregiver.name": Opt("--caregiver", caregiver), "caregiver.relationship": Opt("--caregiver-relationship", caregiver_relationship),
            "contact": Opt("--contact", contact), "registration_place": Opt("--registration-place", registration_place), "identified_by": Opt("--identified-by", identified_by),
            "concerns": Opt("--concern", list(concern) or None), "immediate_needs": Opt("--need", list(need) or None), "consent.child": Opt("--child-consent", child_consent),
            "consent.caregiver": Opt("--caregiver-consent", caregiver_consent),
        }
        put_options(data, option_values(ctx, flags, only=not from_file and not sets), pairs)
        if not no_input and stdin_is_terminal():
            if not data:
                case = service.load_case(ctx, case_id)
                service.check_updatable(ctx, case)  # a closed case: refused before the first question
                data = ask_changes(ctx, case)
                if not data:  # every value kept: no reason to ask, nothing to write
                    raise Refused(f"nothing to update on {case_id}: every value was kept; nothing was written",
                                  rule="nothing-to-update")
            from cpcm.cli.prompts import typed

            while data and not (reason or "").strip():  # required: asked again, so that the changes typed are not lost
                reason = typed("Why did the details change (the reason is kept with the update)")
                if not reason.strip():
                    typer.echo("  this one is required: say why the details changed", err=True)
        result = service.update(ctx, case_id, data, reason, parse_at(at))
        report_written(result, json_out, f"{case_id} updated: {', '.join(result.extra['changed'])}")


def ask_changes(ctx, case) -> dict[str, Any]:
    """Guided prompts: each registration field with its current value; Enter keeps it, '-'
    removes it; a field that is required (by the form, or by a rule on the answers: the other
    concern once a concern is 'other') and would be left empty is refused at once and asked again,
    not once every field is gone through. A field the form wants only for an answer the case does
    not hold ("Other concern" when no concern is 'other') is not asked."""
    from dataclasses import replace

    from cpcm import service
    from cpcm.cli.prompts import STILL_REQUIRED, typed
    from cpcm.domain.forms import choice_list, coerce, is_empty, not_asked, required_by_rule
    from cpcm.domain.records import flatten, set_path
    from cpcm.service.cases import NOT_UPDATED
    from cpcm.service.wording import wording
    from cpcm.store import forms

    form = forms.load(service.form_for(ctx, "registration"), ctx.root)
    current = flatten(case.registration)
    lang = ctx.config.language or "en"
    words = wording(ctx, form)
    typer.echo("Each field shows its value now: press Enter to keep it, type a new value, or '-' to remove it.", err=True)
    # when a field is asked: by the form's required_if and only_if rules only (a not_both rule would leave out the
    # date of birth of a case holding an age: replacing one by the other is what an update is for)
    asked_when = replace(form, rules=tuple(rule for rule in form.rules if "required_if" in rule or "only_if" in rule))
    changes: dict[str, Any] = {}
    for field in form.fields:
        if field.key in NOT_UPDATED or field.type == "list":
            continue
        answers = {**current, **flatten(changes)}  # the case as it will be, the changes typed so far included
        if not_asked(asked_when, field.key, answers):
            continue
        now = current.get(field.key)
        shown = ("; ".join(map(str, now)) if isinstance(now, list) else "" if now is None
                 else ("yes" if now else "no") if isinstance(now, bool) else str(now))
        extra = f" [{choice_list(field, words)}]" if field.choices else ""
        while True:
            answer = typed(f"{field.text(field.label, lang)}{extra} (now: {shown or '-'})", words).strip()
            if not answer or answer == "-":  # kept or removed: refused at once where the field cannot be left empty
                left = now if not answer else None
                because = None if not is_empty(left) else (
                    words.say(STILL_REQUIRED) if field.required else required_by_rule(form, field.key, {**answers, field.key: None}))
                if because:
                    typer.echo(f"  {because}", err=True)
                    continue
                if answer:
                    set_path(changes, field.key, None)
                break
            value, reason = coerce(field, answer, ctx.now.date(), [w.id for w in ctx.team.active], words)
            if reason:
                typer.echo(f"  {reason}", err=True)
                continue
            set_path(changes, field.key, value)
            break
    return changes
