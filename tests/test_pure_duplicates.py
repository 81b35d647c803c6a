"""Many children at once (`cpcm import cases`): `duplicates.matches_among` compares only the
pairs that share a block, and must give exactly what comparing every pair with `matches` gives,
on registers full of near-duplicates (letters mistyped, dropped, doubled or swapped, names in
another order, accents, a middle or family name left out or added, estimated ages, the same
caregiver) and on names made of two or three letters, where nearly every pair is a near miss. The
import compares through it, pair by pair no more."""
from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from cpcm import service
from cpcm.store.sheets import Sheet
from cpcm.workflow import duplicates
from cpcm.workflow.duplicates import Key
from memory_repo import MemoryRepo

FIRST = ["Amina", "Achieng", "Wanjiru", "Neema", "Zawadi", "Halima", "Akinyi", "Imani", "Chebet", "Mwende", "Fatuma",
         "Njeri", "Baraka", "Otieno", "Juma", "Kipchoge", "Mwangi", "Omondi", "Hamisi", "Kamau", "Wekesa", "Musa", "Ali",
         "Brian", "Kip", "Said", "Nafula", "Mutua", "Ochieng", "Kibet"]
LAST = ["Odhiambo", "Njoroge", "Mutiso", "Wafula", "Chepkoech", "Barasa", "Muthoni", "Onyango", "Kariuki", "Ndungu",
        "Owino", "Kiplagat", "Nyaga", "Omollo", "Wanyama", "Macharia", "Otieno", "Kamau", "Ali", "Oduor"]
CAREGIVERS = ["", "", "Grace Achieng", "Mama Asha", "Peter Kamau", "Shosho Wambui"]
LETTERS = "abcdefghijklmnoprstuwy"


def all_pairs(new: list[Key], known: list[tuple[str, Key]]) -> list[tuple[list[tuple[str, str]], list[int]]]:
    """What the import did before it compared in blocks: every row with every case, and with
    every row before it."""
    return [(duplicates.matches(key, known), [i for i in range(n) if duplicates.matches(key, [("", new[i])])])
            for n, key in enumerate(new)]


def mistyped(rng: random.Random, name: str) -> str:
    letters = list(name)
    at = rng.randrange(len(letters))
    how = rng.choice(("change", "add", "drop", "swap", "double", "space"))
    if how == "change":
        letters[at] = rng.choice(LETTERS)
    elif how == "add":
        letters.insert(at, rng.choice(LETTERS))
    elif how == "drop" and len(letters) > 1:
        del letters[at]
    elif how == "swap" and at + 1 < len(letters):
        letters[at], letters[at + 1] = letters[at + 1], letters[at]
    elif how == "double":
        letters.insert(at, letters[at])
    elif how == "space" and " " in name:
        return name.replace(" ", "", 1)
    return "".join(letters)


def fewer_or_more_words(rng: random.Random, name: str) -> str:
    """The name with one of its words left out (of three or more) or another added: one name
    holds every word of the other, and difflib may call them far apart."""
    words = name.split()
    if len(words) > 2 and rng.random() < 0.5:
        words.pop(rng.randrange(len(words)))
    else:
        words.insert(rng.randrange(len(words) + 1), rng.choice(FIRST + LAST))
    return " ".join(words)


def near_duplicates(rng: random.Random, count: int) -> list[Key]:
    """Children of a register in which about half the rows are another row's child again, written
    differently; their keys as `duplicates.key_of` makes them."""
    children: list[tuple[str, int | None, str]] = []
    keys = []
    for _ in range(count):
        if children and rng.random() < 0.5:
            name, year, caregiver = rng.choice(children)
            if rng.random() < 0.3:
                name = fewer_or_more_words(rng, name)  # written right, a name left out or added
            else:
                for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 4))):
                    name = mistyped(rng, name)
            words = name.split()
            if rng.random() < 0.3:
                rng.shuffle(words)  # surname first
            if len(words) > 2 and rng.random() < 0.3:
                words.pop(rng.randrange(len(words)))  # a middle name left out
            name = " ".join(words)
            if rng.random() < 0.2:
                name = name.upper().replace("A", "Á", 1)
            if year is not None and rng.random() < 0.3:
                year += rng.choice((-1, 1))  # an age estimated a year out
            elif rng.random() < 0.1:
                year = None
            if rng.random() < 0.3:
                caregiver = rng.choice(CAREGIVERS)
        else:
            name = " ".join([rng.choice(FIRST)] + ([rng.choice(FIRST)] if rng.random() < 0.4 else []) + [rng.choice(LAST)])
            year = rng.choice((2012, 2013, 2014, None))
            caregiver = rng.choice(CAREGIVERS)
            children.append((name, year, caregiver))
        keys.append(Key(duplicates.normalise_name(name), duplicates.normalise_name(caregiver), year))
    return keys


def flagged(answers) -> int:
    return sum(len(cases) + len(rows) for cases, rows in answers)


def by_words_only(new: list[Key], known: list[tuple[str, Key]]) -> int:
    """The pairs `matches` reports only because one name holds the other's words."""
    others = [key for _, key in known] + new
    return sum(1 for n, key in enumerate(new) for other in others[:len(known) + n]
               if duplicates.matches(key, [("", other)]) and not duplicates.similar(key.name, other.name))


def test_matches_among__gives_what_every_pair_compared_gives_on_registers_of_near_duplicates():
    total = words = 0
    for seed in range(10):
        rng = random.Random(seed)
        keys = near_duplicates(rng, 300)
        cut = rng.randrange(0, 150)  # the first ones are cases already in the repository
        known = [(f"CP-{n:04d}", key) for n, key in enumerate(keys[:cut])]
        expected = all_pairs(keys[cut:], known)
        assert duplicates.matches_among(keys[cut:], known) == expected, seed
        total += flagged(expected)
        words += by_words_only(keys[cut:], known)
    assert total > 500  # the registers are full of probable duplicates
    assert words > 100  # many of them because a name was left out or added


def short_names(rng: random.Random, count: int, letters: str, longest: int) -> list[Key]:
    """Names of a few letters (and spaces): nearly every pair of a year is a near miss, and every length is met."""
    keys = []
    for _ in range(count):
        name = "".join(rng.choice(letters) for _ in range(rng.randint(1, longest)))
        keys.append(Key(duplicates.normalise_name(name), rng.choice(("", "x")), rng.choice((2015, 2016, None))))
    return keys


def test_matches_among__names_of_two_or_three_letters_every_length():
    for seed in range(8):
        rng = random.Random(seed)
        letters = ("ab", "ab ", "abc", "aab ")[seed % 4]
        keys = short_names(rng, 200, letters, rng.choice((8, 16, 30, 60)))
        cut = rng.randrange(0, 100)
        known = [(f"CP-{n:04d}", key) for n, key in enumerate(keys[:cut])]
        assert duplicates.matches_among(keys[cut:], known) == all_pairs(keys[cut:], known), seed


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text("ab c", max_size=24), st.sampled_from([2015, 2016, None]), st.sampled_from(["", "m", "n"])),
                max_size=40), st.integers(min_value=0, max_value=40))
def test_matches_among__any_names(children, cut):
    keys = [Key(duplicates.normalise_name(name), caregiver, year) for name, year, caregiver in children]
    known = [(f"CP-{n:04d}", key) for n, key in enumerate(keys[:cut])]
    assert duplicates.matches_among(keys[cut:], known) == all_pairs(keys[cut:], known)


def test_matches_among__a_pair_at_the_threshold_with_its_differences_spread_out():
    """Ratio exactly 0.85 (34 of 40 characters): three letters dropped and three added, spread
    so that, were the names cut into one piece fewer, no piece of either would be whole in the other."""
    name = "abcdefghijklmnopqrst"
    other = "acde" + "Z" + "fg" + "X" + "hij" + "Y" + "kl" + "no" + "pr" + "st"  # b, m and q dropped
    assert len(other) == 20 and duplicates.similar(name, other)
    assert not duplicates.similar(name, other[:-1] + "W")
    for first, second in ((name, other), (other, name)):
        new = [Key(first, "", 2015)]
        assert duplicates.matches_among(new, [("CP-1", Key(second, "", 2015))]) == [([("CP-1", duplicates.SAME_YEAR)], [])]
        assert duplicates.matches_among(new + [Key(second, "", 2015)], []) == [([], []), ([], [0])]


def test_matches_among__a_name_left_out_found_either_way_round():
    """Row and case, the shorter name first or second, the same year or the same caregiver."""
    longer, shorter = duplicates.normalise_name("Kevin Otieno Ouma"), duplicates.normalise_name("Otieno Kevin")
    for first, second in ((longer, shorter), (shorter, longer)):
        for a, b, reason in ((Key(first, "", 2015), Key(second, "", 2015), duplicates.SAME_YEAR),
                             (Key(first, "mama", 2015), Key(second, "mama", None), duplicates.WORDS_CAREGIVER)):
            assert duplicates.matches_among([a], [("CP-1", b)]) == [([("CP-1", reason)], [])]
            assert duplicates.matches_among([b, a], []) == [([], []), ([], [0])]


def test_matches_among__rows_without_a_name_match_nothing():
    keys = [Key("", "mama", 2015), Key("", "mama", 2015), Key("amina", "mama", 2015)]
    assert duplicates.matches_among(keys, [("CP-1", Key("", "mama", 2015))]) == [([], []), ([], []), ([], [])]


# -- the import compares in blocks -------------------------------------------------------------------
HEADINGS = ["Name", "Sex", "DOB", "Date of admission", "Reason for admission", "Home area", "Lives with",
            "Identified by", "Risk", "Child consent", "Caregiver consent"]


def varied(rng: random.Random) -> str:
    """A made-up name of random syllables: no two rows alike."""
    syllables = [a + b for a in "bdfghjklmnprstwyz" for b in "aeiou"]
    return " ".join("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize() for _ in range(2))


def test_import__compares_the_pairs_that_share_a_block_not_every_pair(monkeypatch):
    """1,200 rows of varied names and two cases: before, every row was compared with every case and
    every row before it (720,000 pairs)."""
    rng = random.Random(7)
    rows = [[varied(rng), "F", date(2012 + n % 3, 1 + n % 12, 1 + n % 28), "2025-01-02", "neglect", "Ward 1", "institution",
             "authority", "medium", "given", "not_possible"] for n in range(1200)]
    rows[700][0] = rows[100][0].upper()  # one child twice
    mem = MemoryRepo()
    amina = mem.as_("amina")
    mem.register(amina, child={"name": rows[300][0], "sex": "female", "date_of_birth": rows[300][2].isoformat()})
    mem.register(amina, child={"name": "Someone Else", "sex": "female", "date_of_birth": "2012-05-05"})
    compared = []
    real = duplicates.matches

    def counted(new, others):
        others = list(others)
        compared.append(len(others))
        return real(new, others)
    monkeypatch.setattr(duplicates, "matches", counted)
    done = service.import_cases(mem.as_("amina"), Sheet("CSV", HEADINGS, rows), dry_run=True)
    assert done.extra["checked"] == 1200
    found = done.extra["possible_duplicates"]
    assert {"row": 702, "row_before": 102, "reason": "possibly the same child"} in found
    assert [d["row"] for d in found if "case_id" in d] == [302]
    assert sum(compared) < 5 * len(rows)


# -- the import checks before it takes the lock ------------------------------------------------------
def spied(monkeypatch, meanwhile=None) -> list[int]:
    """How many times the import checks its rows; `meanwhile()` is run once they are checked,
    before the import takes the lock (where another command could write)."""
    from cpcm.service import imports

    checks = []
    real = imports._check

    def check(*args, **kwargs):
        checks.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(imports, "_check", check)
    if meanwhile is not None:
        monkeypatch.setattr(imports, "crash_point", lambda name: meanwhile() if name == "import-checked" else None)
    return checks


def register_rows(names: list[str]) -> Sheet:
    return Sheet("CSV", HEADINGS, [[name, "F", date(2013, 3, 3), "2025-01-02", "neglect", "Ward 1", "institution", "authority",
                                    "medium", "given", "not_possible"] for name in names])


def test_import__checked_once_when_nothing_was_written_meanwhile(monkeypatch):
    mem = MemoryRepo()
    checks = spied(monkeypatch)
    done = service.import_cases(mem.as_("amina"), register_rows(["Amina Otieno", "Brian Kip"]))
    assert done.extra["imported"] == 2 and checks == [1] and mem.commits() == 1


def test_import__checked_again_under_the_lock_when_another_command_wrote_meanwhile(monkeypatch):
    mem = MemoryRepo()
    written = []
    checks = spied(monkeypatch, lambda: written or written.append(mem.register(mem.as_("amina"), child={
        "name": "Brian Kipp", "sex": "male", "date_of_birth": "2013-09-09"})))
    done = service.import_cases(mem.as_("amina"), register_rows(["Amina Otieno", "Brian Kip"]))
    assert checks == [1, 1] and mem.commits() == 2
    assert done.extra["possible_duplicates"] == [{"row": 3, "case_id": written[0], "reason": duplicates.SAME_YEAR}]
    dry = service.import_cases(mem.as_("amina"), register_rows(["Brian Kip"]), dry_run=True)
    assert checks == [1, 1, 1] and mem.commits() == 2 and dry.extra["imported"] == 0  # a dry run: checked once, nothing written
