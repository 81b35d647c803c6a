"""Who works in a casefile repository, and who may read a case."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable, Mapping

from cpcm.domain.durations import Duration

ROLES = ("caseworker", "supervisor", "manager")
# a worker's cadre (ESARO N2: the workforce registry's role/cadre): a job category, never personal data. In the
# order of what they may hold, the most qualified first: where two copies set a worker's cadre two ways, the later
# of the two in this order is kept (store/merge.py), so that a case is escalated rather than left with one who may
# not hold it. A worker without one (a team file of before cadres, or none given): not known, never judged.
CADRES = ("professional", "officer", "para_social_worker", "volunteer")


def cadre_words(cadre: str) -> str:
    """A cadre as a message names it: 'not known' for none."""
    return cadre.replace("_", "-") if cadre else "not known"
OVERSIGHT = ("supervisor", "manager")
# why a worker's key was replaced (`cpcm key rotate --reason`, `cpcm team recover --reason`): a code,
# never free text, since the team file is plain text
KEY_REASONS = ("routine", "lost", "stolen", "compromised", "forgotten-passphrase")
# a key a supervisor replaces for these reasons (`key rotate --worker`) is in someone else's hands: what it signs
# from the change on is refused (its signing keys are revoked from then, as `team revoke` does), not taken in once
# more. A worker's own rotation is signed with the old key, so it ends the old key (`until`) and revokes nothing.
REVOKING_REASONS = ("stolen", "compromised")


def revokes(reason: str, by: str, worker_id: str) -> bool:
    """Whether a key change revokes the signing keys it replaces (REVOKING_REASONS)."""
    return reason in REVOKING_REASONS and by != worker_id
# who reads with the agency's recovery key (`init --recovery`): not a worker id (those match WORKER_ID),
# so it can never be a reader in a `recipients` file, an author or a team member
RECOVERY_READER = "(recovery)"


@dataclass(frozen=True)
class PastKey:
    """A key a worker had before a rotation: its recipient, until when, why it was replaced, by
    whom, and whether the agency's recovery key made the change (`cpcm team recover`)."""

    recipient: str
    until: str
    reason: str = "routine"
    by: str = ""
    recovered: bool = False

    def to_dict(self) -> dict:
        data = {"recipient": self.recipient, "until": self.until, "reason": self.reason, "by": self.by}
        if self.recovered:
            data["recovered"] = True
        return data

    @classmethod
    def from_dict(cls, raw: dict) -> "PastKey":
        return cls(str(raw["recipient"]), str(raw.get("until", "")), str(raw.get("reason", "routine")),
                   str(raw.get("by", "")), bool(raw.get("recovered", False)))


@dataclass(frozen=True)
class SigningKey:
    """One public signing key of a worker (an OpenSSH `ssh-ed25519 AAAA...` line, no comment) and
    when it is valid: from `since`; until `until` (a later key replaced it) or `revoked` (lost or
    stolen: nothing it signs after that date is accepted)."""
    key: str
    since: str = ""
    until: str = ""
    revoked: str = ""

    def to_dict(self) -> dict:
        data = {"key": self.key, "since": self.since}
        if self.until:
            data["until"] = self.until
        if self.revoked:
            data["revoked"] = self.revoked
        return data

    @classmethod
    def from_dict(cls, raw: dict) -> "SigningKey":
        return cls(key=str(raw["key"]), since=str(raw.get("since", "") or ""), until=str(raw.get("until", "") or ""),
                   revoked=str(raw.get("revoked", "") or ""))


def _seconds(moment: str) -> float | None:
    try:
        return datetime.fromisoformat(moment).timestamp() if moment else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    roles: tuple[str, ...]
    recipient: str
    since: str = ""
    removed: str = ""
    past_keys: tuple[PastKey, ...] = ()
    signing_keys: tuple[SigningKey, ...] = ()  # oldest first; a new key (a rotation) is appended
    cadre: str = ""  # one of CADRES, or "" (not known)

    @property
    def active(self) -> bool:
        return not self.removed

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def to_dict(self) -> dict:
        data = {"id": self.id, "name": self.name, "roles": list(self.roles), "recipient": self.recipient, "since": self.since}
        if self.cadre:
            data["cadre"] = self.cadre
        if self.removed:
            data["removed"] = self.removed
        if self.past_keys:
            data["past_keys"] = [k.to_dict() for k in self.past_keys]
        if self.signing_keys:
            data["signing_keys"] = [k.to_dict() for k in self.signing_keys]
        return data

    def rekeyed(self, recipient: str, until: str, reason: str, by: str, recovered: bool = False,
                signing_key: str = "") -> "Worker":
        """This worker with a new key; the old one kept in `past_keys` (never reused). The signing
        key derived from the new identity (`signing_key`) starts at `until`, where the keys in
        use end."""
        past = PastKey(self.recipient, until, reason, by, recovered)
        keys = self.signing_keys
        if revokes(reason, by, self.id):
            keys = tuple(k if (k.until or k.revoked) else replace(k, revoked=until) for k in keys)
        if signing_key:
            keys = tuple(k if (k.until or k.revoked) else replace(k, until=until) for k in keys) + (SigningKey(signing_key, until),)
        return replace(self, recipient=recipient, past_keys=self.past_keys + (past,), signing_keys=keys)

    def revoked_past_key(self, recipients) -> bool:
        """Whether one of `recipients` is a past key of this worker whose change revoked it (`revokes`)."""
        return any(k.recipient in recipients and revokes(k.reason, k.by, self.id) for k in self.past_keys)

    @classmethod
    def from_dict(cls, raw: dict) -> "Worker":
        """A worker entry of the team file (KeyError, TypeError or ValueError when one is damaged);
        a file written before signing has no `signing_keys`, one written before cadres no `cadre` (not known,
        as is a cadre this version does not know)."""
        roles = tuple(r for r in (raw.get("roles") or ()) if r in ROLES)
        cadre = str(raw.get("cadre") or "")
        keys = tuple(SigningKey.from_dict(k) for k in (raw.get("signing_keys") or ()))
        return cls(id=str(raw["id"]), name=str(raw.get("name") or raw["id"]), roles=roles,
                   recipient=str(raw["recipient"]), since=str(raw.get("since", "")),
                   removed=str(raw.get("removed", "") or ""), signing_keys=keys, cadre=cadre if cadre in CADRES else "",
                   past_keys=tuple(PastKey.from_dict(k) for k in (raw.get("past_keys") or ())))

    @property
    def signing_key(self) -> SigningKey | None:
        """The key the worker signs with now (the newest neither replaced nor revoked)."""
        current = [k for k in self.signing_keys if not k.until and not k.revoked]
        return current[-1] if current else None

    def with_signing_key(self, key: str, since: str) -> "Worker":
        return replace(self, signing_keys=self.signing_keys + (SigningKey(key, since),))

    @property
    def revoked_from(self) -> str:
        """The earliest moment any of the worker's signing keys is revoked from ("" for none), by time, not text."""
        return min((k.revoked for k in self.signing_keys if k.revoked), key=lambda r: _seconds(r) or 0, default="")

    def revoke_signing_keys(self, moment: str) -> "Worker":
        """Every key not already revoked earlier is revoked from `moment`."""
        at = _seconds(moment)
        keys = tuple(k if (k.revoked and at is not None and (_seconds(k.revoked) or at) <= at) else replace(k, revoked=moment)
                     for k in self.signing_keys)
        return replace(self, signing_keys=keys)


# record kinds only these roles write (workflow/approvals.py: a supervisor or manager decides; a
# supervision session is recorded by the supervisor or manager who held it, workflow/supervision.py; a
# complaint is responded to by a supervisor or manager, workflow/complaints.py)
ROLE_KINDS = {"approval": OVERSIGHT, "rejection": OVERSIGHT, "supervision": OVERSIGHT, "complaint_response": OVERSIGHT,
              "retention": ("manager",)}  # a closed case's retention decided: a manager's only (cpcm retention)
# repository files only a supervisor or manager changes (by hand: no command writes them after
# init), as only they change the team (service/team.py)
MANAGER_FILES = (".cpcm/config.yaml", ".cpcm/policy.yaml")


def keyring(*teams: "Team | None") -> "Team":
    """One team holding every worker of `teams` with every signing key any of them records; a
    date that ends a key or a membership (revoked, until, removed) set in any of them is kept,
    the earliest when several: what a signature is checked against when copies meet."""
    merged: dict[str, Worker] = {}
    for team in teams:
        for worker in (team.workers if team else ()):
            have = merged.get(worker.id)
            if have is None:
                merged[worker.id] = worker
                continue
            keys = merge_signing_keys([k.to_dict() for k in have.signing_keys], [k.to_dict() for k in worker.signing_keys])
            ends = [e for e in (have.removed, worker.removed) if e]
            merged[worker.id] = replace(have, signing_keys=tuple(SigningKey.from_dict(k) for k in keys),
                                        removed=min(ends, key=lambda e: _seconds(e) or 0) if ends else "")
    return Team(tuple(merged.values()))


# why a signature by a known key is not accepted at a moment (None: it is)
REVOKED = "revoked-key"


def key_standing(worker: Worker, key: SigningKey, when: float) -> str | None:
    """Whether a signature made at unix time `when` (the commit's own date) by `worker`'s `key`
    stands: REVOKED when the key was revoked by then. A key replaced (`until`) or a worker removed
    is judged by the team the commit was made on (`retired_in`, membership), not by dates:
    a commit's date is what its maker's clock said."""
    revoked = _seconds(key.revoked)
    if revoked is not None and when >= revoked:
        return REVOKED
    return None


def revocable_from(worker: Worker) -> str:
    """The earliest date a revocation of `worker`'s signing keys counts from (`team revoke --from`): when
    their first signing key was recorded (when they joined, for keys the team file does not date; "" when
    neither is known). An earlier date names no commit of theirs: a mistyped year, not a lost laptop."""
    dated = [k.since for k in worker.signing_keys if _seconds(k.since) is not None]
    if not dated:
        return worker.since if _seconds(worker.since) is not None else ""
    return min(dated, key=lambda moment: _seconds(moment) or 0)


# a commit signed by a worker and dated after their removal (`team remove`), made on a copy whose team still
# listed them (the removal had not reached it, or they wrote on after a refused sync told them of it): taken in, as
# the team that copy showed allowed it, and named (a sync's report, `cpcm verify`'s note). Not refused: a removal
# is judged by membership, not by dates (`key_standing`); a key that must sign nothing more is revoked (`team revoke
# --lost`), and then what it signs from that date is refused.
AFTER_REMOVAL = "signed-after-removal"


def signed_after_removal(worker: Worker, when: float) -> bool:
    """Whether a commit by `worker` dated at unix time `when` is dated after their removal (later than
    its moment: a commit of that very second is not)."""
    removed = _seconds(worker.removed)
    return removed is not None and when > removed


def retired_in(team: "Team", key: str) -> bool:
    """Whether `team` records `key` as replaced by a later one (its `until` is set)."""
    found = team.signer(key)
    return bool(found and found[1].until)


def merge_signing_keys(mine: list | None, other: list | None) -> list[dict]:
    """Two copies' `signing_keys` of one worker (a key published on one, revoked on the other):
    every key of either, in order of `since`; a date set on either side is kept, the earlier when both."""
    merged: dict[str, dict] = {}
    for entry in [*(mine or []), *(other or [])]:
        if not isinstance(entry, dict) or "key" not in entry:
            continue
        have = merged.setdefault(str(entry["key"]), dict(entry))
        for name in ("since", "until", "revoked"):
            values = [v for v in (have.get(name), entry.get(name)) if v]
            if values:
                have[name] = min((str(v) for v in values), key=lambda v: (_seconds(v) or 0, v))
    return sorted(merged.values(), key=lambda e: (str(e.get("since", "")), str(e["key"])))


@dataclass(frozen=True)
class Team:
    workers: tuple[Worker, ...] = field(default_factory=tuple)

    @property
    def active(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.workers if w.active)

    def get(self, worker_id: str, include_removed: bool = False) -> Worker | None:
        for worker in self.workers:
            if worker.id == worker_id and (include_removed or worker.active):
                return worker
        return None

    def by_recipient(self, recipients: Iterable[str]) -> Worker | None:
        wanted = set(recipients)
        return next((w for w in self.active if w.recipient in wanted), None)

    def key_owner(self, recipient: str) -> Worker | None:
        """The worker (active or removed) whose key this is or was."""
        return next((w for w in self.workers if w.recipient == recipient or any(k.recipient == recipient for k in w.past_keys)),
                    None)

    def case_readers(self, assigned: Iterable[str]) -> list[str]:
        """Worker ids who read a case: its assigned workers, then every supervisor and manager."""
        ids = [w for w in dict.fromkeys(assigned) if self.get(w)]
        ids += [w.id for w in self.active if w.has_role(*OVERSIGHT) and w.id not in ids]
        return ids

    def managers(self) -> list[str]:
        """Worker ids of the active managers, in the team's order: the readers of a case restricted to
        the managers (workflow/cover.py `managers`, `cpcm verify`)."""
        return [w.id for w in self.active if w.has_role("manager")]

    def signer(self, key: str) -> tuple[Worker, SigningKey] | None:
        """The worker (active or removed) whose recorded signing key is `key` (type and base64)."""
        for worker in self.workers:
            for entry in worker.signing_keys:
                if entry.key == key:
                    return worker, entry
        return None

    def recipients_of(self, worker_ids: Iterable[str]) -> list[str]:
        return [w.recipient for w in (self.get(i) for i in worker_ids) if w is not None]


# -- whose work has not reached this copy lately (`team_sync.quiet_after`) --------------------------------
def quiet_workers(team: Team, latest: Mapping[str, datetime], now: datetime, after: Duration,
                  me: str | None = None) -> list[str]:
    """The active workers (but `me`) of whom this copy holds no work made within `after` before
    `now`: their latest commit here (`latest`, by worker id), or, for a worker with none, the time
    they joined the team (`since`), is `after` or longer ago. In the team's order."""
    quiet = []
    for worker in team.active:
        if worker.id == me:
            continue
        last = latest.get(worker.id)
        if last is None:
            joined = _seconds(worker.since)
            if joined is None:
                continue
            last = datetime.fromtimestamp(joined, now.tzinfo)
        try:
            if after.after(last) <= now:
                quiet.append(worker.id)
        except OverflowError:
            continue
    return quiet
