"""Probable duplicates at registration: same or similar name with the same birth year, or the
same name and the same caregiver. A name that holds every word of the other (a middle or family
name left out of one: "Kevin Otieno" and "Kevin Otieno Ouma"; the shorter of two words or more)
counts as a similar name, and with the same caregiver too. Pure; compares what the registering
worker can read.

A case is compared through its `Key` (normalised name, normalised caregiver, birth year): the
same key serves the full scan (`probable_duplicates`) and the split index a registration reads
(service/lookup.py), which holds only keys (and each case's status) and offers, for a new child,
the cases born the same year and those with the same caregiver: every one `matches` can report.

Many children at once (`cpcm import cases`: the rows of a register against each other and
against the cases) are compared by `matches_among`, which gives `matches`'s answers without
comparing every pair: only the pairs that share a block (`Blocks`, below) are compared."""
from __future__ import annotations

import difflib
import math
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import combinations
from typing import Iterable, NamedTuple, Sequence

from cpcm.domain.case import Case
from cpcm.domain.records import utc

SAME_YEAR = "same or similar name and the same birth year"
SAME_CAREGIVER = "same name and the same caregiver"
WORDS_CAREGIVER = "one name holds all the other's words and the same caregiver"
THRESHOLD = 0.85  # the least similarity ratio of two names that `matches` calls similar
FEWEST_WORDS = 2  # the fewest words of the shorter name for `HoldsWords` (one alone would pair every Kevin of a year)


# marks written for an apostrophe: the straight one, the curly ones a word processor or a
# spreadsheet puts in its place, the modifier letter, the backtick and the acute accent
APOSTROPHES = str.maketrans("", "", "'\u2018\u2019\u02bc\u02bb\u0060\u00b4")


def normalise_name(name: str | None) -> str:
    """A name as names are compared: without accents, in lower case, its words in order. An
    apostrophe inside a word is left out, not taken for a space: Ng'ang'a is one word (and is
    Nganga where written without it), where a space would cut it into three words and sort them
    apart from the rest of the name."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.translate(APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    tokens = sorted("".join(c if c.isalnum() else " " for c in text).split())
    return " ".join(tokens)


def similar(a: str, b: str, threshold: float = THRESHOLD) -> bool:
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

    def __init__(self, name: str, threshold: float = THRESHOLD):
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


class HoldsWords:
    """For one normalised name against many others: one of the two holds every word of the other
    (with its repeats, in any order: "kevin otieno" and "kevin ouma otieno"), the one with fewer
    words having `FEWEST_WORDS` or more. A middle or family name left out of one registration of
    a child makes names that difflib calls far apart ("Kevin Otieno" and "Kevin Otieno Ouma":
    0.83); a single word held by a longer name ("kevin") is not enough."""

    def __init__(self, name: str):
        self.words = name.split()
        self.seen: dict[str, bool] = {}

    def __call__(self, other: str) -> bool:
        known = self.seen.get(other)
        if known is None:
            known = self.seen[other] = self._holds(other)
        return known

    def _holds(self, other: str) -> bool:
        count = other.count(" ") + 1  # its words (a normalised name has one space between two)
        if min(count, len(self.words)) < FEWEST_WORDS:
            return False
        if count >= len(self.words):
            if not all(word in other for word in self.words):  # a quick test first: each word somewhere in it
                return False
            shorter, longer = self.words, other.split()
        else:
            shorter, longer = other.split(), self.words
        return set(shorter).issubset(longer) and not Counter(shorter) - Counter(longer)  # each word as many times


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
    the child of `new`: a similar name, or one that holds the other's words (`HoldsWords`), and
    the same birth year; or, when the years differ or one is unknown, the same name, or one that
    holds the other's words, and the same caregiver."""
    if not new.name:
        return []
    found = []
    alike, holds = SimilarTo(new.name), HoldsWords(new.name)
    for case_id, other in others:
        if not other.name:
            continue
        if new.year is not None and other.year is not None and new.year == other.year:
            if alike(other.name) or holds(other.name):
                found.append((case_id, SAME_YEAR))
        elif new.caregiver and new.caregiver == other.caregiver:
            if new.name == other.name:
                found.append((case_id, SAME_CAREGIVER))
            elif holds(other.name):
                found.append((case_id, WORDS_CAREGIVER))
    return found


def probable_duplicates(new: Case, cases: Iterable[Case]) -> list[tuple[str, str]]:
    """(case id, reason) for every existing case that looks like the same child."""
    if not normalise_name(new.child.get("name")):
        return []
    return matches(key_of(new), ((other.id, key_of(other)) for other in cases
                                 if other.id != new.id and other.child.get("name")))


def kept_first(a: Case, b: Case) -> tuple[Case, Case]:
    """Two cases of one child as `cpcm merge-cases KEEP OTHER` takes them: first the case the work
    goes on in, the one registered first (its registration's time, as UTC: the child's case before the
    other was opened), on a tie the one holding more records (the work done in it), then by case ID;
    second its alias (docs/team.md: two cases of one child)."""
    def order(case: Case) -> tuple:
        return (utc(case.registered_at) if case.registered_at else "\uffff", -len(case.history), case.id)
    return (a, b) if order(a) <= order(b) else (b, a)


# -- many children at once -------------------------------------------------------------------------
def matches_among(new: Sequence[Key], known: Sequence[tuple[str, Key]]) -> list[tuple[list[tuple[str, str]], list[int]]]:
    """For each key of `new`, in order: what `matches(key, known)` reports (case id, reason, in
    the order of `known`), and the positions in `new` of the earlier keys that `matches` reports
    for it (ascending). The same answers as comparing every pair, but only the pairs that share a
    block (`Blocks`) are compared:

    - the same birth year and a piece of one name found in the other near the same place
      (`Pieces`: every pair of similar names has one);
    - the same birth year, or the same caregiver, and two words of one name found in the other
      (`Words`: every pair where one name holds the other's words has them, `FEWEST_WORDS` being
      two), or, for a name of one word, the same name (the only pairs `matches` reports when the
      birth years differ or one is unknown are of the same caregiver).

    The work grows with the number of keys and the pairs that share a block, not with every pair."""
    answers: list[tuple[list[tuple[str, str]], list[int]]] = [([], []) for _ in new]
    near_cases: list[set[int]] = [set() for _ in new]
    near_rows: list[set[int]] = [set() for _ in new]
    rows, cases = Blocks(), Blocks()
    for n, key in enumerate(new):
        if key.name:
            rows.add(n, key)
    for n, key in enumerate(new):
        if key.name:
            for other in rows.near(key):
                if other != n:
                    near_rows[max(n, other)].add(min(n, other))
    for index, (_, key) in enumerate(known):
        if key.name and rows.may_meet(key):
            cases.add(index, key)
            for n in rows.near(key):  # rows whose name is as long as the case's or longer
                near_cases[n].add(index)
    for n, key in enumerate(new):
        if not key.name:
            continue
        near_cases[n].update(cases.near(key))  # cases whose name is as long as the row's or longer
        found = matches(key, [known[i] for i in sorted(near_cases[n])]) if near_cases[n] else []
        earlier = [i for i, _ in matches(key, [(i, new[i]) for i in sorted(near_rows[n])])] if near_rows[n] else []
        answers[n] = (found, earlier)
    return answers


class Blocks:
    """Keys with a name, to find among them those `matches` may pair with a key without comparing
    it with every one: `near(key)` gives every key added that `matches` can report for it where
    its name is the shorter of the two (in characters for a similar name, in words for one that
    holds the other's; of the same length, either), and some that it will not. A pair is found by
    the shorter name's `near`."""

    def __init__(self) -> None:
        self.pieces = Pieces()  # similar names, by birth year
        self.by_year = Words()  # names that hold another's words, by birth year
        self.by_caregiver = Words()  # the same name, or one that holds the other's words, by caregiver

    def add(self, ref: int, key: Key) -> None:
        if key.year is not None:
            self.pieces.add(ref, key.year, key.name)
            self.by_year.add(ref, key.year, key.name)
        if key.caregiver:
            self.by_caregiver.add(ref, key.caregiver, key.name)

    def may_meet(self, key: Key) -> bool:
        """A key of that birth year or caregiver was added: one `near` may give."""
        return key.year in self.by_year.groups or key.caregiver in self.by_caregiver.groups

    def near(self, key: Key) -> set[int]:
        found: set[int] = set()
        if key.year is not None:
            found |= self.pieces.near(key.year, key.name)
            found.update(self.by_year.near(key.year, key.name))
        if key.caregiver:
            found.update(self.by_caregiver.near(key.caregiver, key.name))
        return found


class Words:
    """Normalised names by a group (a birth year, a caregiver), under each pair of their words (a
    name of one word: under that word): `near(group, name)` gives the names of the group under
    the pair of its words that the fewest names have (under its one word), that is every name
    that holds all of its words (and only the same name, for a name of one word), and some names
    that do not. The words of a name being in order, a name that holds two words of another
    holds them as one of its pairs."""

    def __init__(self) -> None:
        self.index: dict[tuple, list[int]] = {}
        self.groups: set = set()

    def add(self, ref: int, group, name: str) -> None:
        for pair in word_pairs(name):
            self.index.setdefault((group, pair), []).append(ref)
        self.groups.add(group)

    def near(self, group, name: str) -> list[int]:
        words = name.split()
        if len(words) < 2:
            return self.index.get((group, tuple(words)), [])
        return min((self.index.get((group, pair), []) for pair in combinations(words, 2)), key=len)


def word_pairs(name: str) -> set[tuple[str, ...]]:
    """Each pair of a normalised name's words (in their order; a word the name has twice makes a pair of
    itself), or, for a name of one word, that word. Of two names that `HoldsWords` pairs, or two same
    names, the longer has every pair of the shorter's (`Words`; the split index's caregiver buckets,
    service/lookup.py)."""
    words = name.split()
    return set(combinations(words, 2)) if len(words) > 1 else {tuple(words)}


def most_apart(total: int, threshold: float = THRESHOLD) -> int:
    """The most characters that two names of `total` characters together can hold outside a
    longest sequence of characters they share (in order, not necessarily side by side) and still
    be `similar`. difflib's ratio is 2 × M / `total`, M the characters of the blocks it matched,
    which are such a shared sequence; so ratio ≥ threshold means the characters left out of the
    longest one are at most total − 2 × M ≤ (1 − threshold) × total. (The slack covers the
    rounding of floating point; a larger bound only adds pairs to compare.)"""
    return math.floor((1.0 - threshold) * total + 1e-6)


@lru_cache(maxsize=None)
def pieces_of(length: int) -> tuple[tuple[int, int], ...]:
    """(start, size) of each piece a name of `length` characters is cut into: `most_apart(2 ×
    length) + 1` pieces side by side, as even as can be (`probes_of` says why one of them is
    whole in any similar name no longer than it). A piece of no characters, were a name shorter
    than its pieces, would be found in any name."""
    count = most_apart(2 * length) + 1
    size, longer = divmod(length, count)
    spans, start = [], 0
    for number in range(count):
        width = size + (1 if number >= count - longer else 0)
        spans.append((start, width))
        start += width
    return tuple(spans)


@lru_cache(maxsize=None)
def probes_of(length: int) -> tuple[tuple[int, int, int, int, int], ...]:
    """Where a name of `length` characters looks for the pieces (`pieces_of`) of the names as
    long or longer that it may be similar to: (their length, piece number, piece size, first
    and last place in this name where that piece may start).

    Lengths: two names whose lengths differ by more than `most_apart` of the two lengths cannot
    be similar (the longer one's extra characters are left out).

    Places: line this name and a similar `other` up along a longest shared sequence; `apart`
    characters of the two are left out, at most `most_apart` of the two lengths, and so at most
    count − 1 for the `count` pieces of `other` (`pieces_of`: its length is this one's or more).
    Let before(n) be the characters left out ahead of piece n of `other` (of either name), growing
    with n, and before(count) = apart. Take the last n with before(n) ≥ apart − (count − 1) + n
    (piece 0 is one). Then before(n + 1) < apart − (count − 1) + n + 1, so before(n + 1) =
    before(n): nothing is left out within piece n, and it is whole in this name. Where: its start
    in `other` moved by (this name's characters left out ahead of it) − (`other`'s), so by at most
    before(n) = apart − (count − 1) + n ≤ n − (count − 1 − most_apart), and by length − other
    give or take the apart − before(n) = count − 1 − n characters left out after it. Of all
    the characters left out, at most (most_apart + other − length) / 2 are `other`'s and
    (most_apart − other + length) / 2 this name's, which bounds the move as well. Only those
    pieces at those places are looked up: each pair of similar names is found by one of them."""
    found = []
    other = length
    while other - length <= (apart := most_apart(length + other)):
        shift = length - other  # this name's length less the other's (0 or less)
        back, ahead = (apart - shift) // 2, (apart + shift) // 2
        spans = pieces_of(other)
        spare = len(spans) - 1 - apart  # more pieces than characters left out
        for number, (start, size) in enumerate(spans):
            before, after = number - spare, len(spans) - 1 - number
            if before < 0:
                continue
            first = max(0, start - back, start - before, start + shift - after)
            last = min(length - size, start + ahead, start + before, start + shift + after)
            if first <= last:
                found.append((other, number, size, first, last))
        other += 1
    return tuple(found)


class Pieces:
    """Names by birth year, cut into their pieces (`pieces_of`), to find among them the names
    a name may be similar to without comparing it with every one: `near(year, name)` gives every
    name added of that year, as long as `name` or longer, that `similar` can call similar to it
    (and some that it will not). A pair of names of different lengths is found by the shorter
    one's `near`; of the same length, by either."""

    def __init__(self) -> None:
        # (year, length, piece number) -> piece -> the names of that year and length with that piece
        self.index: dict[tuple[int, int, int], dict[str, list[int]]] = {}
        self.lengths: dict[int, set[int]] = {}  # year -> the lengths of its names

    def add(self, ref: int, year: int, name: str) -> None:
        length = len(name)
        for number, (start, size) in enumerate(pieces_of(length)):
            self.index.setdefault((year, length, number), {}).setdefault(name[start:start + size], []).append(ref)
        self.lengths.setdefault(year, set()).add(length)

    def near(self, year: int, name: str) -> set[int]:
        found: set[int] = set()
        lengths = self.lengths.get(year)
        if not lengths:
            return found
        index = self.index
        for other, number, size, first, last in probes_of(len(name)):
            if other not in lengths:
                continue
            pieces = index[(year, other, number)]
            for place in range(first, last + 1):
                refs = pieces.get(name[place:place + size])
                if refs:
                    found.update(refs)
        return found
