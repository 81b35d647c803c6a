"""Probable duplicates at registration: same or similar name with the same birth year, or the
same name and the same caregiver. Pure; compares what the registering worker can read.

A case is compared through its `Key` (normalised name, normalised caregiver, birth year): the
same key serves the full scan (`probable_duplicates`) and the split index a registration reads
(service/lookup.py), which holds only keys and offers, for a new child, the cases born the same
year and those with the same name and caregiver: exactly the ones `matches` can report."""
from __future__ import annotations

import difflib
import unicodedata
from collections import Counter
from typing import Iterable, NamedTuple

from cpcm.domain.case import Case

SAME_YEAR = "same or similar name and the same birth year"
SAME_CAREGIVER = "same name and the same caregiver"


def normalise_name(name: str | None) -> str:
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    tokens = sorted("".join(c if c.isalnum() else " " for c in text).split())
    return " ".join(tokens)


def similar(a: str, b: str, threshold: float = 0.85) -> bool:
    """The names match exactly or nearly: difflib's similarity ratio of at least `threshold`."""
    if not a or not b:
        return False
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= threshold


class SimilarTo:
    """`similar(name, other)` for one name against many others, with the same answers: each
    other name is first checked against bounds of the ratio that cost far less than the ratio
    itself (a ratio is 2 × matching characters / both lengths, and the characters that match are
    at most the shorter name's and at most those the two names share, counted with their
    repeats: difflib's real_quick_ratio and quick_ratio), and each distinct other name is
    compared once."""

    def __init__(self, name: str, threshold: float = 0.85):
        self.name = name
        self.threshold = threshold
        self.counts = Counter(name)
        self.chars = frozenset(self.counts)
        self.seen: dict[str, bool] = {}

    def __call__(self, other: str) -> bool:
        known = self.seen.get(other)
        if known is None:
            known = self.seen[other] = self._similar(other)
        return known

    def _similar(self, other: str) -> bool:
        a, b, threshold = self.name, other, self.threshold
        if not a or not b:
            return False
        if a == b:
            return True
        total = len(a) + len(b)
        if 2.0 * min(len(a), len(b)) / total < threshold:
            return False
        # characters of one name that the other lacks can match nothing
        missing = self.chars.difference(b)
        if missing and 2.0 * (len(a) - sum(self.counts[c] for c in missing)) / total < threshold:
            return False
        shared = 0
        for char, count in Counter(b).items():
            mine = self.counts.get(char)
            if mine:
                shared += mine if mine < count else count
        if 2.0 * shared / total < threshold:
            return False
        return difflib.SequenceMatcher(None, a, b).ratio() >= threshold


class Key(NamedTuple):
    """What the duplicate check compares of a case: its child's name and caregiver's name
    normalised, and the child's birth year (known or estimated; None when neither is given)."""
    name: str
    caregiver: str
    year: int | None


def key_of(case: Case) -> Key:
    born = case.birth_date()
    return Key(normalise_name(case.child.get("name")), normalise_name(case.caregiver_name), born.year if born else None)


def matches(new: Key, others: Iterable[tuple[str, Key]]) -> list[tuple[str, str]]:
    """(case id, reason) for each (case id, key) in `others`, in their order, that looks like
    the child of `new`: a similar name and the same birth year; or, when the years differ or
    one is unknown, the same name and the same caregiver."""
    if not new.name:
        return []
    found = []
    alike = SimilarTo(new.name)
    for case_id, other in others:
        if not other.name:
            continue
        if new.year is not None and other.year is not None and new.year == other.year:
            if alike(other.name):
                found.append((case_id, SAME_YEAR))
        elif new.caregiver and new.caregiver == other.caregiver and new.name == other.name:
            found.append((case_id, SAME_CAREGIVER))
    return found


def probable_duplicates(new: Case, cases: Iterable[Case]) -> list[tuple[str, str]]:
    """(case id, reason) for every existing case that looks like the same child."""
    if not normalise_name(new.child.get("name")):
        return []
    return matches(key_of(new), ((other.id, key_of(other)) for other in cases
                                 if other.id != new.id and other.child.get("name")))
