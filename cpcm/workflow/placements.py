"""Placements and the reintegration path, pure: which setting a care type is in, when a placement
needs a best-interests record first (ESARO Principle 2), when it starts the monitoring after
reunification, the CCI exit it must name, the monitoring visits and the court order's expiry
that `cpcm due` lists, and where a case stands on the path of reintegration (ESARO Box 2, the
CTWWC brief): admission, tracing, family assessment, best interests, preparation, reunification,
monitoring, readiness, closure.

The care types and their settings are the policy's (`placement`); the schedule of visits is
`placement_monitoring`; `now` is always an argument.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import end_of_day, local_iso, parse_datetime
from cpcm.domain.durations import add_months
from cpcm.domain.policy import Policy
from cpcm.domain.profiles import PLACEMENT_SETTINGS as SETTINGS  # one list: the policy's consent checks name them too
from cpcm.domain.records import utc

# the settings a child lives in with a family or in the community: the monitoring visits after a
# reunification go on while the child lives in one of them (`monitoring_visit`)
MONITORED = ("family", "family_based", "community_based")
# the setting of the child's own family (the policy's `placement.family` care types): a placement into it from any
# other setting is the child's return to their family (`starts_monitoring`)
FAMILY = "family"
# a child apart from their family and in no care (on the street, alone): the policy's `placement.lives_with.apart`, and
# any answer of who the child lives with that it puts in no setting (`registered_setting`)
APART = "apart"
# the fold's event of a follow-up made as a home visit, and `home_visit.PURPOSE` of its purpose (monitoring_visits)
HOME_VISIT = "home_visit"
OVERRIDE_ROLES = ("supervisor", "manager")


def setting_of(care_type: str | None, policy: Policy) -> str | None:
    """The policy's setting of a care type (family, family_based, community_based, residential)."""
    for setting in SETTINGS:
        if care_type in (policy.get("placement", setting) or ()):
            return setting
    return None


def unclassified(choices: Iterable[str], policy: Policy) -> list[str]:
    """The care types of the form that the policy puts in no setting (a mistake in either)."""
    return [c for c in choices if setting_of(c, policy) is None]


def in_care(placement: Mapping[str, Any] | None) -> bool:
    """Whether a placement is alternative care (anything but the child's own family)."""
    return bool(placement) and placement.get("setting") not in (None, FAMILY)


def lives_now(case: Case) -> dict[str, Any]:
    """Where and with whom the child lives now, and how to reach them (`location`, `caregiver`
    and the caregiver's `relationship`, `contact`): the latest placement's (its address, or a
    residential placement's institution; its caregiver and phone, where it names them, or where
    the records of its stay before it name them: `stay`), field by field: where an update of the
    registration's location, caregiver or contact came after the record that named it by its date,
    the registration's. An update of the location (or phone) alone leaves the caregiver to the
    placement; one of the caregiver takes the address and phone with it (another household).
    A placement in alternative care whose stay names no caregiver (a CCI's: `unnamed_in_care`) is
    none of the registration's either: no caregiver, and its own phone or none, not the family's
    the child was placed away from, until an update after it names them. The registration keeps
    its caregiver and phone (`Case.caregiver_name`, `Case.contact`) for what reads the family."""
    relationship = ((case.registration or {}).get("caregiver") or {}).get("relationship")
    now = {"location": case.location, "caregiver": case.caregiver_name, "relationship": relationship, "contact": case.contact}
    if case.placement is None:
        return now
    current = stay(case.placements, case.placement)  # a renewed order recorded without the address keeps its stay's

    def placed(key: str, update: str | None):
        """The stay's `key`, unless an update of the registration's field is dated after the record that gave it."""
        return None if update_stands(update, {"at": current["given_at"][key]}) else current.get(key)

    def registered(key: str, update: str | None) -> bool:
        """Whether the registration's field stands where the stay gives none (its `key`, of WHERE): beside the
        child's own family, or an update of it dated after the placement; in alternative care naming no caregiver, not."""
        return not unnamed_in_care(current) or update_stands(update, {"at": current["given_at"][key]})

    # field by field: an update of the location (or the phone) leaves the caregiver to the placement; one of the caregiver
    # is another household, so the placement's address and phone (its caregiver's) stop standing too
    other = case.last("caregiver_updated")
    moved, rang = (max(filter(None, (case.last(event), other)), default=None) for event in ("location_updated", "contact_updated"))
    where = placed("address", moved) or (placed("institution", moved) if current.get("setting") == "residential" else None)
    caregiver = placed("caregiver_name", other)
    phone = placed("contact", rang) or (now["contact"] if registered("contact", rang) else None)
    if not caregiver and not registered("caregiver_name", other):  # a CCI's stay naming none: no one the registration names
        return {"location": where or now["location"], "caregiver": None, "relationship": None, "contact": phone}
    return {"location": where or now["location"], "caregiver": caregiver or now["caregiver"],
            "relationship": placed("caregiver_relationship", other) if caregiver else relationship, "contact": phone}


def unnamed_in_care(current: Mapping[str, Any]) -> bool:
    """Whether a placement (its stay, `stay`) is in alternative care (`in_care`: a CCI, foster care ...) and names
    no caregiver: the child lives with none the registration names (the family the child was placed away from),
    so `lives_now` gives no caregiver and only the placement's own phone. One into the child's own family that names
    none leaves the registration's caregiver and phone standing (the family the child went home to)."""
    return in_care(current) and not current.get("caregiver_name")


def lives_with_now(case: Case) -> dict[str, Any]:
    """Who the child lives with now, as a code of a fixed list (`value`), and which list
    (`source`): the latest placement's care type (`placement`: the placement form's `care_type`
    list) unless an update of the registration's `lives_with` came after it by its date; else
    the registration's `lives_with`, as updated (`registration`: its own list; None when none is
    given). `registered`: the registration's value, as updated, whichever stands; `placement`:
    the latest placement by its date (its record ID and `at`), or None. The same rule as
    `lives_now` gives for where the child lives, field by field: an update of where the child
    lives (`residence_updated`) leaves who the child lives with to the placement, and an update
    of who alone leaves where to it."""
    registered = (case.registration or {}).get("lives_with")
    current = case.placement
    latest = {"record_id": current["record_id"], "at": current["at"]} if current else None
    if update_stands(case.last("lives_with_updated"), current) or not current.get("care_type"):
        return {"value": registered, "source": "registration" if registered else None, "registered": registered,
                "placement": latest}
    return {"value": current["care_type"], "source": "placement", "registered": registered, "placement": latest}


def in_residential_care(case: Case, policy: Policy) -> bool:
    """Whether the child lives in residential care now, by who the child lives with now
    (`lives_with_now`): the latest placement's setting is residential, or the registration (as
    updated, with no placement or after the latest by its date) says one the policy reads as
    residential care (`registered_setting`: an institution)."""
    now = lives_with_now(case)
    if now["source"] == "placement":
        return case.placement.get("setting") == "residential"
    return registered_setting(now["value"], policy) == "residential"


# the steps toward a family that only a separated child takes (cpcm tracing, family-assessment, preparation)
TOWARD_FAMILY = ("tracing", "family_assessment", "preparation")


def family_home(policy: Policy) -> tuple[str, ...]:
    """Who the child lives with (the registration's `lives_with`) that means the child lives with
    their family, not apart from it: the policy's `placement.at_home` (parents, relatives), the one
    list the placements and the readiness comment after a case conference read (`separated`,
    `registered_setting`). Empty: every child counts as apart."""
    return tuple(policy.get("placement", "at_home", ()) or ())


# the fold's event of who the registration, or an update of it, said the child lives with: `lives_with.<answer>`
LIVES_WITH = "lives_with."


def registered_lives_with(case: Case) -> dict[str, str]:
    """Who the registration and each update of it said the child lives with (its `lives_with`
    answers, a corrected record as corrected), each with the latest time it was said (UTC): where
    the child lived before, as well as now. The one reading of a registration's living arrangement
    over time: a child registered in an institution was in care (`separated`), and was admitted to
    it then (conferences.admitted_at)."""
    return {name[len(LIVES_WITH):]: times[-1] for name, times in case.events.items()
            if name.startswith(LIVES_WITH) and times}


def separated(case: Case, at_home: Iterable[str]) -> bool:
    """Whether the child is, or has been, apart from their family, so on a path of reintegration
    (the Kenya SOP glossary: reintegration is a separated child's return to their family): a
    placement recorded (into alternative care, or home from it), a step toward a family taken
    (TOWARD_FAMILY), who the child lives with now (`lives_with_now`) not one of `at_home`
    (`family_home`: parents, relatives) or not known, or who the registration or an update of it
    said the child lived with before (`registered_lives_with`: an institution, the street) not one
    of `at_home`. Every child, where `at_home` lists nothing."""
    at_home = tuple(at_home)
    return bool(case.placements) or apart_unplaced(case, at_home) or any(
        answer not in at_home for answer in registered_lives_with(case))


def apart_unplaced(case: Case, at_home: Iterable[str]) -> bool:
    """Whether a child with no placement recorded is apart from their family: a step toward a
    family taken (TOWARD_FAMILY), or the registration, as updated, saying the child lives with
    none of `at_home` (`family_home`; every child, where it lists nothing)."""
    at_home = tuple(at_home)
    if not at_home or toward_family(case):
        return True
    return lives_with_now(case)["registered"] not in at_home


def toward_family(case: Case) -> bool:
    """Whether a step toward a family (TOWARD_FAMILY), which only a separated child takes, was taken."""
    return any(case.events.get(step) for step in TOWARD_FAMILY)


def registered_setting(lives_with: str | None, policy: Policy) -> str:
    """The setting who the child lives with (a registration's `lives_with`) means: FAMILY for one of
    the policy's `placement.at_home` (`family_home`), else the key of `placement.lives_with` that
    lists it (residential, family_based, community_based, or APART: apart from the family and in
    no care); APART for one listed nowhere, or none given."""
    if lives_with in family_home(policy):
        return FAMILY
    listed = policy.get("placement", "lives_with") or {}
    return next((key for key, names in listed.items() if key in (*SETTINGS, APART) and lives_with in (names or ())), APART)


def came_from(case: Case, policy: Policy) -> str:
    """The setting the child of a first placement (none recorded before it) comes from, read as the
    placement before a later one is (`starts_monitoring`): the one the registration, as updated,
    says (`registered_setting`), but APART for a child it says lives with their family for whom
    a step toward a family was taken (`toward_family`: the child has been separated since)."""
    setting = registered_setting(lives_with_now(case)["registered"], policy)
    return APART if setting == FAMILY and toward_family(case) else setting


def first_is_reunification(case: Case, setting: str | None, decided: str | None, policy: Policy) -> bool:
    """Whether a first placement (none recorded before it) into `setting` is a reunification, by
    `decided`, the decision of the best-interests record it rests on: never when it took the child
    into care (INTO_CARE_DECISIONS: a removal from their home), one into a family or the community
    (MONITORED) when it decided the child's reintegration (HOME_DECISIONS), else as a move from
    where the child comes from (`came_from`) is (`starts_monitoring`)."""
    if decided in INTO_CARE_DECISIONS:
        return False
    if decided in HOME_DECISIONS:
        return setting in MONITORED
    return starts_monitoring(came_from(case, policy), setting)


def update_stands(updated: str | None, current: Mapping[str, Any] | None) -> bool:
    """Whether the registration (with its updates) says where the child lives rather than the
    placement `current` (the latest by its date): there is none, or an update of where the child
    lives (the fold's `residence_updated`, at `updated`, UTC) is later by its date (`lives_now`)."""
    return current is None or (updated is not None and updated > current["at"])


def placed_now(current: Mapping[str, Any] | None, updated: str | None, at: str | None) -> bool:
    """Whether a placement dated `at` (UTC), recorded after `current` (the latest by its date) and
    `updated` (the latest update of where the child lives), would say where the child lives now:
    the latest placement by its date, and no update later by its date. One backdated behind either
    tells where the child lived then, not now."""
    return at is not None and (current is None or at >= current["at"]) and (updated is None or at >= updated)


# the registration fields an update changes that say where and with whom the child lives, as a placement does
# (its address or institution, its caregiver's name): what a sync compares with a placement written apart
WHEREABOUTS = ("location", "caregiver.name")


def whereabouts_changed(changes: Any) -> dict[str, Any]:
    """What an update's `changes` say of where and with whom the child lives: {field of WHEREABOUTS:
    the value given (None: removed)}. A `caregiver` changed as a whole gives its name."""
    found: dict[str, Any] = {}
    for path, value in (changes.items() if isinstance(changes, Mapping) else ()):
        if path in WHEREABOUTS:
            found[path] = value
        elif path == "caregiver":
            found["caregiver.name"] = value.get("name") if isinstance(value, Mapping) else None
    return found


def disagrees(placement: Mapping[str, Any], changed: Mapping[str, Any]) -> list[str]:
    """The fields of WHEREABOUTS on which an update (`changed`: `whereabouts_changed`) and a placement
    record (its body) say another place or caregiver, as `lives_now` would take them: the placement's
    address (or a residential placement's institution), its caregiver's name; compared less case and
    spacing. A field the placement does not give is none (the registration's stands beside it)."""
    def norm(value: Any) -> str | None:
        return " ".join(value.split()).lower() if isinstance(value, str) and value.strip() else None
    caregiver = placement.get("caregiver") if isinstance(placement.get("caregiver"), Mapping) else {}
    where = placement.get("address") or (placement.get("institution") if placement.get("setting") == "residential" else None)
    says = {"location": norm(where), "caregiver.name": norm(caregiver.get("name"))}
    return [field for field, value in changed.items() if says.get(field) is not None and norm(value) != says[field]]


def where_and_with_whom(body: Mapping[str, Any]) -> tuple:
    """What a placement record (its body) says of where and with whom the child lives: the care
    type, the institution, the address and the caregiver's name, each as written less case and
    spacing. Two placements with the same say the same (an order renewed, recorded twice)."""
    def norm(value: Any) -> str | None:
        return " ".join(value.split()).lower() if isinstance(value, str) and value.strip() else None
    caregiver = body.get("caregiver") if isinstance(body.get("caregiver"), Mapping) else {}
    return (norm(body.get("care_type")), norm(body.get("institution")), norm(body.get("address")), norm(caregiver.get("name")))


def needs_best_interests(current: Mapping[str, Any] | None, new: Mapping[str, Any], policy: Policy) -> bool:
    """A placement into care, out of it or between placements needs a best-interests record
    first: the first placement recorded, a change of care type, of caregiver or of institution.
    Recording the same placement again (an order renewed, a new address with the same caregiver)
    does not."""
    if not policy.get("placement", "best_interests_required", True):
        return False
    return is_move(current, new)


def is_move(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether a placement changes where or with whom the child lives (a decision: the first
    placement recorded, a change of care type, of caregiver or of institution), as against the
    same placement recorded again (an order renewed, a new address with the same caregiver). The
    best-interests record and the consent a placement checks are for a decision. A caregiver's
    name a correction put right (CAREGIVER_WAS, on either) is the same caregiver under either name."""
    if current is None:
        return True
    if current.get("care_type") != new.get("care_type"):
        return True
    caregiver = (new.get("caregiver") or {}).get("name")
    if caregiver and current.get("caregiver_name") and not (
            _names(caregiver, new.get(CAREGIVER_WAS)) & _names(current["caregiver_name"], current.get(CAREGIVER_WAS))):
        return True
    institution = new.get("institution")
    return bool(institution and current.get("institution")
                and institution.strip().lower() != str(current["institution"]).strip().lower())


# A placement record's caregiver's names that corrections put right (`renamed_caregivers`): the misspelt names it was
# corrected from, on the fold's entry (and on what `is_move` compares), so that the records of its stay still name one
# caregiver whichever of them was corrected. A misspelt name corrected is not a change of caregiver.
CAREGIVER_WAS = "caregiver_was"


def _names(name: Any, was: Iterable[str] | None) -> set[str]:
    """A caregiver's name and the names a correction put right (`was`), as compared: less case and outer spaces."""
    return {str(n).strip().lower() for n in (name, *(was or ())) if n}


def _caregiver(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """A placement record's `caregiver` (its body's), {} when it gives none."""
    return body.get("caregiver") if isinstance(body.get("caregiver"), Mapping) else {}


def renamed(original: Mapping[str, Any], corrected: Mapping[str, Any]) -> bool:
    """Whether a correction of a placement (`corrected`, its body, of `original`'s) puts right the
    caregiver's name alone: another name, with the same care type, caregiver's relationship,
    address and institution. That is a misspelt name, the same caregiver (cpcm's rule): the
    correction keeps the stay the record belongs to, and needs no decision of its own (`is_move`)."""
    def norm(value: Any) -> str | None:
        return " ".join(value.split()).lower() if isinstance(value, str) and value.strip() else None

    before, after = _caregiver(original), _caregiver(corrected)
    names = _names(before.get("name"), ()), _names(after.get("name"), ())  # as `is_move` compares them
    if not all(names) or names[0] == names[1]:
        return False
    return (norm(before.get("relationship")) == norm(after.get("relationship"))
            and all(norm(original.get(key)) == norm(corrected.get(key)) for key in ("care_type", "address", "institution")))


def renamed_caregivers(records: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Each placement record whose caregiver's name a correction put right (`renamed`) -> the names it
    was corrected from (CAREGIVER_WAS), through a chain of corrections: one that keeps the name keeps
    them too. `records`: a case's records, corrected ones included (by record ID, a correction after
    what it corrects)."""
    placed = {r.id: r for r in records if r.kind == "placement"}
    was: dict[str, tuple[str, ...]] = {}
    for record in sorted(placed.values(), key=lambda r: r.id):
        target = record.body.get("supersedes")
        original = placed.get(target) if isinstance(target, str) else None
        if original is None:
            continue
        before, after = _caregiver(original.body).get("name"), _caregiver(record.body).get("name")
        if renamed(original.body, record.body):
            was[record.id] = (*was.get(original.id, ()), before)
        elif original.id in was and _names(before, ()) == _names(after, ()):
            was[record.id] = was[original.id]
    return was


def still_misspelt(placements: Iterable[Mapping[str, Any]], record_id: str) -> list[str]:
    """The placement records of the stay of `record_id` (a correction that put its caregiver's name
    right, CAREGIVER_WAS) that still give a name it put right: the same caregiver (`is_move`), but
    `cpcm show` gives the latest record's name, as written. Their record IDs, by date."""
    placed = sorted(placements, key=lambda p: (p["at"], p["record_id"]))
    corrected = next((p for p in placed if p["record_id"] == record_id), None)
    if corrected is None or not corrected.get(CAREGIVER_WAS):
        return []
    entered = stay(placed, corrected)["entered_record"]
    wrong = _names(None, corrected[CAREGIVER_WAS]) - _names(corrected.get("caregiver_name"), ())
    return [p["record_id"] for p in placed if p["record_id"] != record_id and _names(p.get("caregiver_name"), ()) & wrong
            and stay(placed, p)["entered_record"] == entered]


# how a stay was decided (with the court order it stands under, whose expiry `cpcm due` lists), and where and with whom
# the child lives in it: what a placement recorded again (an order renewed, a new address) keeps from the records of its
# stay before it when it gives none itself (`stay`); a record that gives its own (another order) replaces it
DECIDED = ("best_interests", "best_interests_override", "acc", "court_order")
WHERE = ("institution", "address", "caregiver_name", "caregiver_relationship", "contact")


def stay(placements: Iterable[Mapping[str, Any]], current: Mapping[str, Any] | None = None) -> dict | None:
    """The placement `current` (by default the latest by its date) as the stay it belongs to: the
    one answer to "since when has the child been in this placement" that show and the register
    read. The placements right before it that are the same placement recorded again (not
    `is_move`: a court order renewed, a new address with the same caregiver) do not restart the
    stay. Its own fields, with `entered_at` and `entered_record`, when and by which record the
    child entered it; how it was decided and under which court order (DECIDED: a new address
    recorded without the order still stands under it; the order shown is the latest given) and
    where and with whom (WHERE: a renewed order recorded without the address still has it): its own, else the
    latest of its stay's that gives one, with when that record was dated (`given_at`, by field of
    WHERE: `lives_now` weighs an update of the registration against it). None without a placement."""
    ordered = sorted(placements, key=lambda p: (p["at"], p["record_id"]))
    current = current or (ordered[-1] if ordered else None)
    if current is None:
        return None
    run = [current]
    for before in reversed([p for p in ordered if (p["at"], p["record_id"]) < (current["at"], current["record_id"])]):
        if is_move(before, _as_recorded(run[-1])):
            break
        run.append(before)
    found = dict(current, entered_at=run[-1]["at"], entered_record=run[-1]["record_id"], given_at={})
    for key in DECIDED + WHERE:
        giver = next((p for p in run if p.get(key)), current)
        found[key] = giver.get(key)
        if key in WHERE:
            found["given_at"][key] = giver["at"]
    return found


def began(current: Mapping[str, Any]) -> tuple[str, str]:
    """When the child entered the placement `current` (as `stay` gives it; else its own record),
    and by which record (which orders two at the same time): where "since the current placement
    began" counts from."""
    return current.get("entered_at") or current["at"], current.get("entered_record") or current["record_id"]


def _as_recorded(placement: Mapping[str, Any]) -> dict:
    """A placement as the fold keeps it, in the shape of the record's body that `is_move` compares."""
    return {"care_type": placement.get("care_type"), "institution": placement.get("institution"),
            "caregiver": {"name": placement.get("caregiver_name")}, CAREGIVER_WAS: placement.get(CAREGIVER_WAS)}


def best_interests_for(current: Mapping[str, Any] | None, assessments: Iterable[tuple[str, str]], at: str) -> str | None:
    """The best-interests record a placement at `at` rests on: the latest one (record id, its
    time in UTC) made after the current placement began (`began`) and not after `at`."""
    since = began(current) if current else None
    found = [(when, rid) for rid, when in assessments if when <= at and (since is None or (when, rid) > since)]
    return max(found)[1] if found else None


def starts_monitoring(before: str | None, setting: str | None) -> bool:
    """Whether a move from the setting `before` (the placement's in force before it; for a first
    placement, `came_from`) into `setting` is a reunification, which starts the reviews and visits
    after it: the child's return to their family (FAMILY) from alternative care or from apart from
    it (APART: in no care), or a placement with a family or in the community (MONITORED) that takes
    the child out of residential care or out of no care (the path of reintegration's
    "reunification or family-based placement": ESARO Box 2 step 10, the SOP's reviews after
    reunification or placement). A move between two settings of alternative care outside
    residential care (kinship to foster care, foster care to kinship) is a change of placement,
    and a move from the child's own home into care is entry into it: neither is a return."""
    if setting not in MONITORED:
        return False
    if setting == FAMILY:
        return before not in (None, FAMILY)
    return before in ("residential", APART)


def placement_at(placements: Iterable[Mapping[str, Any]], at: str) -> Mapping[str, Any] | None:
    """The placement in force at `at` (UTC): the latest by its date not after it (the record id
    orders two at the same time), as the stay it belongs to (`stay`: when it began), or None."""
    earlier = [p for p in placements if p["at"] <= at]
    return stay(earlier) if earlier else None


def _same_stay(plan: str, home: str, residential: Iterable[str]) -> bool:
    """Whether a plan for reunification_done at `plan` and a placement home at `home` are of one
    stay out of residential care: no placement in residential care between the two."""
    low, high = min(plan, home), max(plan, home)
    return not any(low < moved < high for moved in residential)


def accounted_for(placements: Iterable[Mapping[str, Any]], plan: str) -> bool:
    """Whether a placement home (`reunification` on it) of the same stay out of residential care,
    recorded before or after it, accounts for a plan for reunification_done written at `plan`:
    the plan confirms that placement and is no reunification of its own (`reunifications`)."""
    placed = list(placements)
    residential = [p["at"] for p in placed if p.get("setting") == "residential"]
    return any(_same_stay(plan, p["at"], residential) for p in placed if p.get("reunification"))


def reunifications(placements: Iterable[Mapping[str, Any]], plans: Iterable[str]) -> tuple[str, ...]:
    """When the child was reunified (times as the fold keeps them, UTC, in order): the one answer
    the reviews, the monitoring visits, the path of reintegration and closure read (the fold's
    `reunification` event). Each placement that brought the child home is one (`reunification`
    on the placement: `starts_monitoring`). A plan version written for `reunification_done`
    (`plans`: when each was written) confirms the reunification placement of the same stay out of
    residential care, recorded before or after it (no placement in residential care between the
    two), and adds none of its own; only a plan that no such placement accounts for (a return
    home not recorded as a placement) is a reunification itself, at the plan's time."""
    placed = list(placements)
    homes = [p["at"] for p in placed if p.get("reunification")]
    alone = [plan for plan in plans if not accounted_for(placed, plan)]
    return tuple(sorted(homes + alone))


# -- a plan that sends the child home (ESARO Principle 2) -------------------------------------------
# A plan version for `reunification_done` that no placement home accounts for (`accounted_for`) is the child's
# return home itself: the move a placement with the family (HOME) is, under the placement's rule
# (`needs_best_interests`, `best_interests_for`, the policy's `placement.best_interests_required` and
# `override_roles`). A plan for `reunification_date_set` moves nobody: the placement home, or the plan for
# reunification_done, that carries the child home is what needs the record first.
REUNIFICATION_DONE = "reunification_done"
# the fold's event: the times of plan versions for reunification_done later rejected or withdrawn, which send no one home
# and so owe no best-interests record (homes_without_best_interests, best_interests_owed)
HOME_SET_ASIDE = "reunification_done.set_aside"
HOME = {"care_type": "family"}


def standing(times: Iterable[str], aside: Iterable[str]) -> list[str]:
    """`times` (of plan versions for reunification_done, or of those written on a supervisor's
    reason) less the versions set aside (HOME_SET_ASIDE), one for one: a version rejected or
    withdrawn takes away itself, not another written for the same time (the return home written
    again, with the same date, after the first was turned down)."""
    left = list(times)
    for at in aside:
        if at in left:
            left.remove(at)
    return left
# the fold's event: a plan for reunification_done written on a supervisor's reason without a best-interests
# record (its `best_interests_override`), at its time: the record is still owed (`best_interests_owed`)
HOME_OVERRIDDEN = "reunification_done.override"


def plan_needs_best_interests(placements: Iterable[Mapping[str, Any]], at: str, policy: Policy) -> bool:
    """Whether a plan version for reunification_done written at `at` (UTC) needs a best-interests
    record first: it is the child's return home (no placement home of the same stay accounts for
    it) and the placement rule asks one of a move from the placement in force then to the family."""
    placed = list(placements)
    if accounted_for(placed, at):
        return False
    return needs_best_interests(placement_at(placed, at), HOME, policy)


def home_without_best_interests(case: Case, at: str, policy: Policy) -> bool:
    """Whether the plan version for reunification_done written at `at` sent the child home without
    the best-interests record it needed: none made by then since the placement in force began
    (`best_interests_for`; the fold keeps their times: one of the same time as the placement counts)
    and no supervisor's reason recorded with it (HOME_OVERRIDDEN). A version written before the rule
    was kept, or on a copy that did not keep it."""
    if not plan_needs_best_interests(case.placements, at, policy) or at in case.events.get(HOME_OVERRIDDEN, ()):
        return False
    made = [("~", when) for when in case.events.get("assessment.best_interests", ())]  # "~": after any record id
    return best_interests_for(placement_at(case.placements, at), made, at) is None


def homes_without_best_interests(case: Case, policy: Policy) -> list[str]:
    """When each plan version for reunification_done of an open case was written (UTC, in order)
    that sent the child home without the best-interests record it needed (`home_without_best_interests`)
    and none has been made since: what `cpcm check` reports (ESARO Principle 2)."""
    if case.status != "open":
        return []
    return sorted(at for at in set(standing(case.events.get(REUNIFICATION_DONE, ()), case.events.get(HOME_SET_ASIDE, ())))
                  if home_without_best_interests(case, at, policy) and not case.last("assessment.best_interests", at))


def cci_exit_problem(current: Mapping[str, Any] | None, setting: str | None, cci_exit: str | None,
                     case_id: str = "CASE") -> str | None:
    """What is wrong with the CCI exit kind given (or not given) for this move, or None. With no
    placement recorded (a child registered as living in a CCI, say), what to record first."""
    leaving = bool(current) and current.get("setting") == "residential" and setting != "residential"
    if leaving and not cci_exit:
        return ("is required: the child leaves residential care (family_reintegration, alternative_family_based_care "
                "or community_based_care)")
    if cci_exit and not leaving and current is None:
        return ("is only for a child leaving residential care, and no placement is recorded for this case: record the "
                f"admission first (cpcm placement {case_id} --care-type institutional_care --institution ... --at DATE), "
                "then this move")
    if cci_exit and not leaving:
        return "is only for a child leaving residential care (the current placement is not residential care)"
    return None


def left_in_care(case: Case, reason: str | None, policy: Policy) -> Mapping[str, Any] | None:
    """The placement a closure for `reason` leaves the child living in (the policy's
    `closure_in_care`): the current placement when it is alternative care in one of the rule's
    `settings`, not a permanent home (`permanent`: adoption, say), not set aside for this reason
    (`not_for`: a death), and no later update of who the child lives with says otherwise
    (`lives_with_now`); else None. Said at `cpcm close` and `cpcm approve CASE closure`; the
    placements report lists a closed case it holds for. As its stay (`stay`: since when, how decided)."""
    current = stay(case.placements)
    if not in_care(current) or lives_with_now(case)["source"] != "placement":
        return None
    setting = current.get("setting")
    aside = (policy.get("closure_in_care", "not_for") or {}).get(reason) or ()
    if setting not in (policy.get("closure_in_care", "settings") or ()) or setting in aside \
            or current.get("care_type") in (policy.get("closure_in_care", "permanent") or ()):
        return None
    return current


def closure_in_care_refused(placement: Mapping[str, Any] | None, reason: str | None, policy: Policy) -> bool:
    """Whether a closure for `reason` is refused while the child lives in `placement`
    (`left_in_care`), by the policy's `closure_in_care.refused` (the kenya profile: goals_met in
    residential care)."""
    return placement is not None and placement.get("setting") in ((policy.get("closure_in_care", "refused") or {}).get(reason) or ())


# -- what is due ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    due: datetime
    number: int          # the visit's number since the placement (1 for the first)
    interval: str        # in words: '1 month'
    since: str           # the placement (UTC)


def monitoring_visits(case: Case, policy: Policy) -> tuple[str, ...]:
    """The times of the home visits that count as monitoring visits: every home visit but those of
    a purpose `placement_monitoring.not_counted` names (a crisis visit, ad hoc: recorded and shown,
    it neither counts nor puts off the next planned visit; the fold's `home_visit.PURPOSE`)."""
    left = Counter(t for purpose in policy.get("placement_monitoring", "not_counted") or ()
                   for t in case.events.get(f"{HOME_VISIT}.{purpose}", ()))
    kept = []
    for t in case.events.get(HOME_VISIT, ()):
        if left[t]:
            left[t] -= 1
        else:
            kept.append(t)
    return tuple(kept)


def monitoring_visits_since(case: Case, policy: Policy, reunified: str, until: str | None = None) -> tuple[str, ...]:
    """The monitoring visits (`monitoring_visits`) made since the child went home at `reunified`
    (UTC), up to `until` when given: a home visit while the child was still in care (a preparation
    visit) is none (AFTER_HOME), nor is a phone call or an office contact. The one count of them:
    the next visit's number (`monitoring_visit`), the path's "monitoring xN" on `cpcm show`, and the
    closure report beside the follow-ups the pre-closure rule counts."""
    return tuple(t for t in monitoring_visits(case, policy) if t >= reunified and (until is None or t <= until))


def home_since(case: Case, at: str | None = None) -> str | None:
    """When the child went home (the latest reunification, UTC) while the child still lives there:
    at `at` (UTC), or now without it (the latest placement). None without a reunification, or once
    a placement made since it took the child out of a family and the community (MONITORED): back
    to residential care after a breakdown, on an open case or after a reopening, or apart. The
    one rule of "the child is home": the monitoring visits go on (`monitoring_visit`) and the
    reviews run at the interval after reunification (`deadlines.review_interval`) only while it
    holds, as `cpcm show` counts a child back in residential care as not yet reunified
    (`reunified_at`)."""
    start = case.last("reunification")
    if not start:
        return None
    placed = [p for p in case.placements if at is None or p["at"] <= at]
    current = max(placed, key=lambda p: (p["at"], p["record_id"])) if placed else None
    if current is not None and current.get("setting") not in MONITORED and current["at"] >= start:
        return None
    return start


def monitoring_visit(case: Case, policy: Policy, now: datetime) -> Visit | None:
    """The next monitoring visit after reunification (`starts_monitoring`: a return to the family, or a
    family- or community-based placement out of residential care):
    every `first` during `first_period`, then every `then`, until `period` has passed (a home
    visit, `cpcm followup --method home_visit`, meets it). None where the policy has no such
    period, the case is not open, or the child is back in residential care."""
    rule = policy.rules.get("placement_monitoring")
    start = home_since(case)
    if not rule or not start or case.status != "open":
        return None
    zone = now.tzinfo or timezone.utc
    begin = parse_datetime(start).astimezone(zone)
    end = policy.duration("placement_monitoring", "period").after(begin)
    if end <= begin:
        return None
    visits = monitoring_visits_since(case, policy, start)
    base = parse_datetime(max(visits)).astimezone(zone) if visits else begin
    if case.reopened and case.reopened > start:  # a visit that fell due while the case was closed counts from the reopening
        base = max(base, parse_datetime(case.reopened).astimezone(zone))
    first_end = policy.duration("placement_monitoring", "first_period").after(begin)
    first = policy.duration("placement_monitoring", "first")
    # every `first` while the next visit still falls in the first period, then every `then`
    interval = first if first.after(base).date() <= first_end.date() else policy.duration("placement_monitoring", "then")
    due = interval.after(base)
    if due > end:
        return None
    return Visit(due, len(visits) + 1, interval.words(), start)


@dataclass(frozen=True)
class OrderExpiry:
    expires: datetime
    target: datetime | None
    placement: str       # the placement's record id


def court_order_expiry(case: Case, policy: Policy, now: datetime) -> OrderExpiry | None:
    """The expiry of the court order behind the current placement (open cases): renew it, or end
    the placement, before it lapses. The order is its stay's (`stay`): the same placement recorded
    again without an order (a new address) still stands under it. It is due on its expiry day: a date
    alone, it falls due at the end of that day in the zone of `now`, as every deadline given as a date
    does (`end_of_day`)."""
    current = stay(case.placements)
    if case.status != "open" or not current or not (current.get("court_order") or {}).get("expires"):
        return None
    zone = now.tzinfo or timezone.utc
    expires = end_of_day(date.fromisoformat(str(current["court_order"]["expires"])[:10]), zone)
    target = None
    if policy.get("court_order", "target"):
        ahead = policy.duration("court_order", "target")  # how long before the expiry: calendar months back
        target = add_months(expires, -ahead.months) - timedelta(days=ahead.days, minutes=ahead.minutes)
    return OrderExpiry(expires, target, current["record_id"])


def best_interests_owed(case: Case) -> str | None:
    """When the child was moved without a best-interests record on a supervisor's reason, if none
    has been made since (ESARO Principle 2: the record is still owed; open cases): the placement in
    force, made so (its override's reason), or a plan for reunification_done written so since it
    began (HOME_OVERRIDDEN), the latest of them. A later placement with its own record, or without
    one on a new reason, is the one asked about then. The same placement recorded again (an order
    renewed) begins no new stay (`stay`): the record is owed for the move that began it. A closed
    case owes none; whether one was made all the same is `best_interests_missing`."""
    return best_interests_missing(case) if case.status == "open" else None


def best_interests_missing(case: Case) -> str | None:
    """`best_interests_owed` whatever the case's status: when the child was moved without a
    best-interests record on a supervisor's reason, if none has been made since. On a closed (or
    transferred) case it is owed no longer, but `cpcm show` says none was made rather than that one was."""
    current = stay(case.placements)
    overridden = standing(case.events.get(HOME_OVERRIDDEN, ()), case.events.get(HOME_SET_ASIDE, ()))
    moved = [t for t in overridden if current is None or t >= current["entered_at"]]
    if current and current.get("best_interests_override"):
        moved.append(current["entered_at"])
    if not moved or case.last("assessment.best_interests", max(moved)):
        return None
    return max(moved)


def owed_for_plan(case: Case, owed: str | None) -> bool:
    """Whether the move `best_interests_owed` names is a plan for reunification_done (not a placement)."""
    current = stay(case.placements)
    return owed is not None and owed in case.events.get(HOME_OVERRIDDEN, ()) and not (
        current and current.get("best_interests_override") and current["entered_at"] == owed)


# -- the path of reintegration -------------------------------------------------------------------
STEPS = (
    ("admission", "admission to residential care", "cpcm placement CASE --care-type institutional_care"),
    ("tracing", "family tracing", "cpcm tracing CASE"),
    ("family_assessment", "family assessment", "cpcm family-assessment CASE"),
    ("best_interests", "best-interests decision on the placement", "cpcm assess CASE --type best-interests"),
    ("preparation", "preparation of the child and family", "cpcm preparation CASE"),
    ("reunification", "reunification or family-based placement", "cpcm placement CASE --care-type family"),
    ("monitoring", "monitoring visits", "cpcm followup CASE --method home_visit --purpose monitoring"),
    ("readiness", "readiness benchmarks (Form 7A)", "cpcm readiness CASE"),
    ("closure", "closure", "cpcm close CASE --reason goals_met"),
)


def schedules_visits(policy: Policy) -> bool:
    """Whether the profile schedules monitoring visits after reunification (`placement_monitoring`
    with a period: none in the inter-agency profile, whose period is 0d)."""
    start = datetime(2000, 1, 1, tzinfo=timezone.utc)
    return "placement_monitoring" in policy.rules and policy.duration("placement_monitoring", "period").after(start) > start


def steps_of(policy: Policy) -> tuple[tuple[str, str, str], ...]:
    """The steps of the path (STEPS) the profile has: the monitoring visits only where it schedules
    them (`schedules_visits`), the readiness benchmarks (Form 7A) only where closure waits for
    them (`closure_readiness.required`: the kenya profile). No step or form the policy lacks."""
    lacks = {"monitoring"} if not schedules_visits(policy) else set()
    if not policy.get("closure_readiness", "required", False):
        lacks.add("readiness")
    return tuple(step for step in STEPS if step[0] not in lacks)


# Not a command: a best-interests record whose decision takes the child into care (its `decision`, of the form's
# list), the fold's event at its time: the decision an admission rests on, made with it or, after a supervisor placed
# the child without one, later (best_interests_owed); not the step of the path that decides the way home.
INTO_CARE, INTO_CARE_DECISIONS = "best_interests_into_care", ("alternative_care_placement", "removal")
# the decision of a best-interests record (of the same list) that sends a child apart from their family back to it
HOME_DECISIONS = ("reintegration",)
# The steps that follow the child's return home: none is done before it. A home visit while the child is in care is no
# monitoring visit, and a readiness record made then (a comment after a case conference too) does not say that the
# reintegration holds (Form 7A reviews the child with the caregiver after placement: docs/kenya-readiness.md); so
# neither is a step of the path, nor restarts the month the next step is due in (`next_step_due`).
AFTER_HOME = ("monitoring", "readiness")
EVENTS = {"tracing": "tracing", "family_assessment": "family_assessment", "best_interests": "assessment.best_interests",
          "preparation": "preparation", "reunification": "reunification", "monitoring": HOME_VISIT, "readiness": "readiness",
          "closure": "closed"}


def admissions(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The admissions to residential care: the first placement of each stay in it, oldest first
    (the fold's `admission` event, which the conference after an admission runs from)."""
    starts, inside = [], False
    for placement in sorted(entries, key=lambda p: (p["at"], p["record_id"])):
        residential = placement.get("setting") == "residential"
        if residential and not inside:
            starts.append(placement)
        inside = residential
    return starts


def admission(case: Case) -> Mapping[str, Any] | None:
    """The admission the path runs from: the first placement of the latest stay in residential
    care (the child may have left it since); None when the child was never in residential care."""
    starts = admissions(case.placements)
    return starts[-1] if starts else None


def reunified_at(case: Case) -> str | None:
    """When the child last went home (a reunification or family-based placement) since the latest
    admission to residential care (any, without one); None while the child has not. The steps of
    the path after it (monitoring, readiness, closure) count from then, and the closure's
    readiness record must be of then or later (`readiness.closure_gaps`)."""
    entry = admission(case)
    return case.last("reunification", entry["at"] if entry else None)


def rested_on(case: Case) -> set[str]:
    """When the best-interests records were made (UTC) that the placements that brought the child
    home record as their decision: the path's best-interests step, whatever the decision says."""
    ids = {p["best_interests"] for p in case.placements if p.get("reunification") and p.get("best_interests")}
    return {utc(e.at) for e in case.history if e.id in ids} if ids else set()


def pathway(case: Case, policy: Policy, now: datetime) -> dict | None:
    """Where the case stands on the path of reintegration, and what is next: each step done
    (when, how many) or not, from the admission to residential care (or, without one, from the
    registration once a step was recorded). None for a case with no step of the path. Its times
    (`since`, `reunified`, each step's `last`, the next visit's `due`) are in the zone of `now`,
    with its offset, as every time shown is."""
    path = _path(case, policy, now)
    if path is None:
        return None
    zone = now.tzinfo or timezone.utc
    return dict(path, since=local_iso(path["since"], zone) or None, reunified=local_iso(path["reunified"], zone) or None,
                steps=[dict(s, last=local_iso(s["last"], zone) or None) for s in path["steps"]])


def _path(case: Case, policy: Policy, now: datetime) -> dict | None:
    """`pathway` with the case's own times (UTC, as the fold keeps them), for the rules to compare."""
    entry = admission(case)
    since = entry["at"] if entry else None
    if entry is None and not any(case.events.get(EVENTS[k]) for k in ("tracing", "family_assessment", "preparation")) \
            and not case.last("reunification"):
        return None
    reunified = reunified_at(case)
    steps = []
    for key, title, command in steps_of(policy):
        if key == "admission":
            times = (entry["at"],) if entry else ()
        else:
            event = EVENTS[key]
            after = reunified if key in (*AFTER_HOME, "closure") and reunified else since
            before = reunified if key in ("tracing", "family_assessment", "best_interests", "preparation") and reunified else None
            strict = key == "best_interests"  # the admission's own decision does not count for the way home
            found = (() if key in AFTER_HOME and not reunified else  # not before the child went home
                     monitoring_visits_since(case, policy, reunified) if key == "monitoring" else case.events.get(event, ()))
            times = tuple(t for t in found
                          if (after is None or t > after or (t == after and not strict)) and (before is None or t <= before))
            if strict and times and case.events.get(INTO_CARE):  # nor a decision to take the child into care,
                kept = rested_on(case)  # unless a placement that brought the child home rests on it
                times = tuple(t for t in times if t not in case.events[INTO_CARE] or t in kept)
        step = {"step": key, "title": title, "done": bool(times), "count": len(times), "last": max(times) if times else None,
                "command": command}
        if key == "tracing" and times:
            step["family_found"] = any((since is None or t >= since) for t in case.events.get("family_found", ()))
        steps.append(step)
    by_key = {s["step"]: s for s in steps}
    if not entry:
        by_key["admission"]["skipped"] = True
    next_step = None
    if case.status == "closed":
        next_step = None
    elif not reunified:
        next_step = next((s for s in steps[1:6] if not s["done"]), by_key["reunification"])
    else:
        visit = monitoring_visit(case, policy, now)
        if visit is not None:
            next_step = dict(by_key["monitoring"], due=visit.due.isoformat(timespec="minutes"), number=visit.number)
        else:
            next_step = by_key["readiness"] if not by_key.get("readiness", {"done": True})["done"] else by_key["closure"]
    return {"since": since, "reunified": reunified, "steps": steps,
            "next": {k: next_step[k] for k in ("step", "title", "command", "due", "number") if k in next_step} if next_step else None}


def next_step_due(case: Case, policy: Policy, now: datetime) -> tuple[datetime, Mapping[str, Any], str] | None:
    """While the child is in residential care after an admission, the next step of the path is due
    `reintegration_steps.limit` after the last step (or the admission): (due, the step, since)."""
    current = case.placement
    if case.status != "open" or not current or current.get("setting") != "residential" \
            or "reintegration_steps" not in policy.rules:
        return None
    path = _path(case, policy, now)
    if path is None or path["next"] is None or path["reunified"]:
        return None
    done = [s["last"] for s in path["steps"] if s["done"] and s["last"]]
    last = max(done) if done else path["since"]
    zone = now.tzinfo or timezone.utc
    due = policy.duration("reintegration_steps", "limit").after(parse_datetime(last).astimezone(zone))
    return due, path["next"], last
