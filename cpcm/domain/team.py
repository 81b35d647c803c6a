"""Who works in a casefile repository, and who may read a case."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ROLES = ("caseworker", "supervisor", "manager")
OVERSIGHT = ("supervisor", "manager")
# why a worker's key was replaced (`cpcm key rotate --reason`, `cpcm team recover --reason`): a code,
# never free text, since the team file is plain text
KEY_REASONS = ("routine", "lost", "stolen", "compromised", "forgotten-passphrase")
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


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    roles: tuple[str, ...]
    recipient: str
    since: str = ""
    removed: str = ""
    past_keys: tuple[PastKey, ...] = ()

    @property
    def active(self) -> bool:
        return not self.removed

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def to_dict(self) -> dict:
        data = {"id": self.id, "name": self.name, "roles": list(self.roles), "recipient": self.recipient, "since": self.since}
        if self.removed:
            data["removed"] = self.removed
        if self.past_keys:
            data["past_keys"] = [k.to_dict() for k in self.past_keys]
        return data

    def rekeyed(self, recipient: str, until: str, reason: str, by: str, recovered: bool = False) -> "Worker":
        """This worker with a new key; the old one kept in `past_keys` (never reused)."""
        from dataclasses import replace

        past = PastKey(self.recipient, until, reason, by, recovered)
        return replace(self, recipient=recipient, past_keys=self.past_keys + (past,))


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

    def recipients_of(self, worker_ids: Iterable[str]) -> list[str]:
        return [w.recipient for w in (self.get(i) for i in worker_ids) if w is not None]
