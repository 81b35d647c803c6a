"""The case as it stands: the fold of its records (see cpcm.workflow.fold)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Mapping

from cpcm.domain.records import utc

NAME_UNKNOWN = "(name unknown)"


@dataclass(frozen=True)
class Entry:
    """One line of a case's history: what was recorded, when, by whom."""

    id: str
    kind: str
    at: str
    recorded_at: str
    by: str


@dataclass(frozen=True)
class Case:
    id: str
    status: str = "open"
    stage: str = "registered"
    risk: str | None = None
    worker: str | None = None
    registered_at: str | None = None
    child: Mapping[str, Any] = field(default_factory=dict)
    location: str | None = None
    caregiver_name: str | None = None
    contact: str | None = None
    concerns: tuple[str, ...] = ()
    # when each of `concerns` was recorded (UTC): the registration's, or the update's that added it (one removed by an
    # update and added again: the later update's); a correction stands in its original's place (workflow/mandatory_report.py)
    concerns_since: Mapping[str, str] = field(default_factory=dict)
    history: tuple[Entry, ...] = ()
    # when each command happened (its `at`), in the order recorded: {"assessment.initial": (...)}
    events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    plan: Mapping[str, Any] | None = None        # the latest plan version and its approval
    closure: Mapping[str, Any] | None = None     # the latest closure request
    transfer_request: Mapping[str, Any] | None = None  # the latest transfer request and its decision
    # the latest transfer out of here (cpcm transfer: the bundle written): its record, the receiving agency's code
    # (`to`), when, and the receipt recorded for it (cpcm transfer-ack), if any (deadlines._transfer_ack)
    transfer_out: Mapping[str, Any] | None = None
    next_review: str | None = None               # a date set by the latest review, if earlier
    anomalies: tuple[str, ...] = ()              # record ids that broke the transition table
    referrals: tuple[Mapping[str, Any], ...] = ()  # each referral with its current status
    registration: Mapping[str, Any] = field(default_factory=dict)  # the registration's fields, with every update applied
    links: tuple[str, ...] = ()                  # other case IDs of the same child (merge-cases, a re-identified ID)
    merged_into: str | None = None               # the case this one was merged into (merge-cases KEEP THIS): the child's case
    conflicts: tuple[Mapping[str, Any], ...] = ()  # what a sync found written apart: code, records, settled or not
    placements: tuple[Mapping[str, Any], ...] = ()  # where the child lived, each from its date (cpcm placement)
    # the latest mandatory-reporting decision (cpcm mandatory-report): its record, decision, whether it waits for a
    # supervisor (a caseworker's decision not to report), and the supervisor's decision of it (workflow/mandatory_report.py)
    mandatory_report: Mapping[str, Any] | None = None
    # the next follow-up as the latest follow-up (by its `at`) planned it (IAG Step 5 [L919], workflow/followups.py): how
    # often (`every`, a duration, kept until a later one changes it) and a date (`next`), from `at` (UTC), its record
    followup_plan: Mapping[str, Any] | None = None
    # the colleague nominated keyworker by the latest nomination (workflow/keyworker.py), None for someone outside the
    # team or none nominated (then the caseworker is): `cpcm check` says when they have left the team
    keyworker: str | None = None
    # the consents, overrides and receipts of a transfer in, as the one consent rule reads them, each with whether an
    # action relied on it already (workflow/consent.py `kept`): what `cpcm due` asks a step's consent from
    consents: tuple[Mapping[str, Any], ...] = ()
    # the latest manager's decision on a closed or transferred case whose retention period has ended (cpcm retention,
    # workflow/retention.py): its record, when (`at`, UTC), who, `decision` (keep or restrict) and for keep the date
    # `until`; a reopening clears it (the next closure starts the period again)
    retention: Mapping[str, Any] | None = None
    # a manager's restriction of the case to the managers (cpcm retention --restrict): its record, when (`at`, UTC)
    # and who; it stands until the case is next assigned to a worker (an `assignment`), a reopening and a closure
    # again included, as the `# restricted` line of its `recipients` file does (workflow/retention.py `restricted`)
    restriction: Mapping[str, Any] | None = None
    # when `risk` came to the level it has now (UTC): the record, in the records' order, that set that level after a
    # different one or none (a registration, an assessment, a follow-up with a level; a correction as of its own time,
    # as every event). A later rating at the same level leaves it; a rating that lowers the risk and one that raises it
    # again date it from the raise. None with no risk (workflow/fold.py; `rules.cadre_since`)
    risk_since: str | None = None
    # when the estimated age in `child` (child.age_estimate) was given, as its record's `at` (with its offset): the
    # registration's (or its correction's), or the latest update's that set it (or its correction's); None with no
    # estimate. The estimated date of birth is that day, so many years before (`birth_date`)
    age_given_at: str | None = None

    def referral(self, ref: str) -> Mapping[str, Any] | None:
        """A referral by its short reference (R1) or its record id."""
        ref = ref.strip().upper()
        return next((r for r in self.referrals if r["ref"] == ref or r["record_id"] == ref), None)

    @property
    def placement(self) -> Mapping[str, Any] | None:
        """Where the child lives now: the latest placement (by its date), or None."""
        return max(self.placements, key=lambda p: (p["at"], p["record_id"])) if self.placements else None

    def last(self, event: str, since: str | None = None) -> str | None:
        """When `event` last happened (at or after `since`, when given)."""
        times = self.events.get(event, ())
        if not times:
            return None
        if since is None:
            return max(times)
        times = [t for t in times if t >= since]
        return max(times) if times else None

    def first(self, event: str, since: str | None = None) -> str | None:
        times = [t for t in self.events.get(event, ()) if since is None or t >= since]
        return min(times) if times else None

    @property
    def reopened(self) -> str | None:
        """The latest reopening (as UTC, like every event), if the case was reopened."""
        reopened = self.events.get("reopen")  # self.last("reopen"), without the call: the rules ask it again and again
        return (max(reopened) or None) if reopened else None

    @property
    def reopenings(self) -> tuple[str, ...]:
        """Every reopening of the case (as UTC, like every event), in no order."""
        return tuple(self.events.get("reopen") or ())

    @property
    def cycle_start(self) -> str | None:
        """The registration, or the latest reopening (as UTC, like every event): clocks run from here."""
        return self.reopened or (utc(self.registered_at) if self.registered_at else None)

    @property
    def name(self) -> str:
        return self.child.get("name") or NAME_UNKNOWN

    @property
    def last_at(self) -> str | None:
        return max((e.at for e in self.history), default=None)

    def age_estimated_on(self) -> date | None:
        """The day the estimated age on the case was given (`age_given_at`, else the registration's
        day): an age given at registration is the age then, one given by an update (`cpcm update
        --age`) the age on the update's day. None with no estimate, or a date of birth known."""
        if self.child.get("date_of_birth") or self.child.get("age_estimate") is None:
            return None
        given = self.age_given_at or self.registered_at
        return date.fromisoformat(given[:10]) if given else None

    def birth_date(self) -> date | None:
        """The known date of birth, or one estimated from the estimated age and the day it was
        given (`age_estimated_on`): the child is taken to have turned that age on that day."""
        dob = self.child.get("date_of_birth")
        if dob:
            return date.fromisoformat(dob)
        given = self.age_estimated_on()
        if given is None:
            return None
        estimate = int(self.child["age_estimate"])
        try:
            return given.replace(year=given.year - estimate)
        except ValueError:  # 29 February
            return given.replace(year=given.year - estimate, day=28)

    def turns(self, years: int) -> date | None:
        """The day the child turns `years` (the age limit: the turning-18 item's due day, and the
        first day a closure for reached_18 may be dated), by the date of birth the case holds, known
        or estimated (`birth_date`); one born on 29 February turns it on the 28th in a common year.
        None when the case holds neither."""
        born = self.birth_date()
        if born is None:
            return None
        try:
            return born.replace(year=born.year + years)
        except ValueError:  # 29 February
            return born.replace(year=born.year + years, day=28)

    def age_on(self, day: date) -> int | None:
        born = self.birth_date()
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Case":
        values = dict(data)
        values["history"] = tuple(Entry(**e) for e in values.get("history", ()))
        values["concerns"] = tuple(values.get("concerns", ()))
        values["events"] = {k: tuple(v) for k, v in (values.get("events") or {}).items()}
        values["anomalies"] = tuple(values.get("anomalies", ()))
        values["referrals"] = tuple(values.get("referrals", ()))
        values["links"] = tuple(values.get("links", ()))
        values["conflicts"] = tuple(values.get("conflicts", ()))
        values["placements"] = tuple(values.get("placements", ()))
        values["consents"] = tuple(values.get("consents", ()))
        return cls(**values)


INDEX_CHILD = ("name", "date_of_birth", "age_estimate")


def case_index(case: Case) -> dict:
    """The fields of a case that every write may need: who holds it and whether it is open (the
    caseload), the child's name, birth and caregiver (the duplicate check) and the case it was merged
    into (a duplicate warning names the case the child's work goes on in). Here, with the
    fold, because the cache's index table is tagged with the fold's digest alone
    (`fold_fingerprint`): a change to these fields makes the index again."""
    return {"id": case.id, "status": case.status, "worker": case.worker, "registered_at": case.registered_at,
            "caregiver_name": case.caregiver_name, "child": {k: case.child[k] for k in INDEX_CHILD if k in case.child},
            "merged_into": case.merged_into}
