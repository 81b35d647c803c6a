"""Siblings who arrive together (`cpcm register --sibling-of CASE`, `cpcm link A B --sibling`).

Pure. A sibling's registration starts from the family and home part of the other child's
registration: where the children live, who with, the caregiver, how to reach them, how they
were identified and where they were registered. Never the child's own details (name, sex, date
of birth, disability, birth certificate), nor consent, risk, concerns, needs, the assigned
worker or notes: those are each child's own. One list, used by `register` and named by the
docs (docs/commands/register.md#siblings)."""
from __future__ import annotations

from typing import Any, Mapping

from cpcm.domain.records import flatten

# the registration form's fields (cpcm/forms/registration.yaml) a sibling's registration starts from
FAMILY_FIELDS = ("location", "lives_with", "caregiver.name", "caregiver.relationship", "contact", "identified_by",
                 "registration_place")
RELATION = "sibling"  # a case_link record's `reason` and the relation `show` lists


def family_part(registration: Mapping[str, Any]) -> dict[str, Any]:
    """The family and home fields of a registration (as updated), as dotted path -> value;
    those not given are left out."""
    flat = flatten(registration or {})
    return {key: flat[key] for key in FAMILY_FIELDS if flat.get(key) not in (None, "", [], {})}


def link_body(other: str) -> dict[str, str]:
    """The body of the `case_link` record that tells a case its sibling's case ID."""
    return {"sibling": other, "reason": RELATION}
