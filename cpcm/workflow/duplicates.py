"""Probable duplicates at registration: same or similar name with the same birth year, or the
same name and the same caregiver. Pure; compares what the registering worker can read."""
from __future__ import annotations

import difflib
import unicodedata
from typing import Iterable

from cpcm.domain.case import Case


def normalise_name(name: str | None) -> str:
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    tokens = sorted("".join(c if c.isalnum() else " " for c in text).split())
    return " ".join(tokens)


def similar(a: str, b: str, threshold: float = 0.85) -> bool:
    if not a or not b:
        return False
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= threshold


def probable_duplicates(new: Case, cases: Iterable[Case]) -> list[tuple[str, str]]:
    """(case id, reason) for every existing case that looks like the same child."""
    name = normalise_name(new.child.get("name"))
    if not name:
        return []
    born = new.birth_date()
    caregiver = normalise_name(new.caregiver_name)
    found = []
    for other in cases:
        if other.id == new.id or not other.child.get("name"):
            continue
        other_born = other.birth_date()
        if born and other_born and born.year == other_born.year:
            # the cheap test first: only a same-year child is compared by name similarity
            if similar(name, normalise_name(other.child.get("name"))):
                found.append((other.id, "same or similar name and the same birth year"))
        elif caregiver and caregiver == normalise_name(other.caregiver_name) and name == normalise_name(other.child.get("name")):
            found.append((other.id, "same name and the same caregiver"))
    return found
