"""Printable blank forms: cpcm form print. Every form a worker fills on paper in the field
(registration, the assessments, best interests, readiness, a follow-up or home visit, a review,
consent, closure, the conference minutes...), generated from its definition in cpcm/forms/ (or
the agency's .cpcm/forms/) through one template, in a language the catalogs hold."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from cpcm.domain.forms import with_policy_lists
from cpcm.domain.policy import Policy
from cpcm.errors import UsageError
from cpcm.store import forms, policies

FORMATS = ("html", "md")


def form_name(policy: Policy | None, name: str, root: Path | None = None) -> str:
    """The form definition printed for `name`: the one the policy names for that record (the
    kenya profile's registration is registration-kenya), else the form of that name. The name as
    typed: any capitals, spaces around it (`Registration`), as every other choice of cpcm."""
    name = (name or "").strip().lower()
    mapped = policy.get("forms", name.replace("-", "_")) if policy is not None else None
    return forms.check_name(str(mapped) if mapped else name, root)


def closure_checklists(policy: Policy | None) -> dict[str, list[str]]:
    """Each closure reason's checklist under the policy (the kenya profile: Form 9A's)."""
    if policy is None:
        return {}
    rules = policy.rules.get("closure_reasons", {})
    return {reason: [str(i) for i in items] for reason, items in rules.items() if isinstance(items, list)}


def form_print(name: str, lang: str = "en", fmt: str = "html", *, policy: Policy | None = None, root: Path | None = None,
               today: date | None = None) -> str:
    """The printable blank of form `name` in `lang` (a language with a catalog) as `fmt` (html,
    A4 with print CSS; or md)."""
    from cpcm.render import env, paper

    if fmt not in FORMATS:
        raise UsageError("--format is html or md")
    chosen = form_name(policy, name, root)
    form = forms.load(chosen, root)
    labels = forms.choice_labels(chosen, root)
    if any(f.policy_list for f in form.fields):  # the eligibility criteria of the policy given (else the one in force)
        rules = policy if policy is not None else policies.in_force(root)
        form = with_policy_lists(form, rules.policy_lists())
        # the policy's words for each criterion in `lang` (Policy.criterion_labels), as the documents and show give them
        labels = {**labels, "eligibility": {value: {lang: text} for value, text in rules.criterion_labels(lang).items()}}
    view = paper.form_view(form, chosen, lang, labels=labels,
                           checklists=closure_checklists(policy) if form.kind == "closure" else None,
                           profile=policy.profile if policy is not None else None, today=today,
                           paper=forms.paper(chosen, root))
    text = env.render("form-print", lang, fmt, view, root)
    return text if text.endswith("\n") else text + "\n"
