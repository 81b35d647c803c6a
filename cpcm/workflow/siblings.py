"""Siblings who arrive together (`cpcm register --sibling-of CASE`, `cpcm link A B --sibling`).

Pure. A sibling's registration starts from the family and home part of the other child's
registration: where the children live, who with, the caregiver, how to reach them, how they
were identified and where they were registered. Never the child's own details (name, sex, date
of birth, disability, birth certificate), nor consent, risk, concerns, needs, the assigned
worker or notes: those are each child's own. One list, used by `register` and named by the
docs (docs/commands/register.md#siblings).

A sibling group is the closure of the links: A linked to B and B to C makes A, B and C one
group, though no record links A to C (`group`). Nothing more is written for it: each reader
follows the links of the cases they read."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

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


REMOVED = "removed"  # a case_link's key: why a sibling link made by mistake was taken out


def link_body(other: str, removed: str | None = None) -> dict[str, str]:
    """The body of the `case_link` record that tells a case its sibling's case ID; with
    `removed` (why), that the link to it was made by mistake and is taken out."""
    body = {"sibling": other, "reason": RELATION}
    if removed is not None:
        body[REMOVED] = removed.strip()
    return body


def group(case_id: str, links_of: Callable[[str], Iterable[str] | None]) -> list[dict[str, Any]]:
    """The sibling group of `case_id`, without it: the closure of the sibling links, followed
    through the cases the reader reads. `links_of(case)`: the sibling case IDs its links name, in
    the order written, or None when the reader cannot read that case (not theirs, not here):
    such a case is in the group, named by its ID only, but its own links are not known, so a
    sibling only it names is not. Each member: `case_id`; `through`, the case whose link named it
    first (None: `case_id`'s own link names it); `readable`. Direct siblings first, in the order
    written, then each found through another, breadth first. `links_of` is asked once a case."""
    members: list[dict[str, Any]] = []
    seen = {case_id}
    waiting: list[tuple[str, list[str]]] = [(case_id, list(links_of(case_id) or ()))]
    while waiting:
        current, named = waiting.pop(0)
        for other in named:
            if other in seen:
                continue
            seen.add(other)
            theirs = links_of(other)
            members.append({"case_id": other, "through": None if current == case_id else current, "readable": theirs is not None})
            if theirs is not None:
                waiting.append((other, list(theirs)))
    return members
