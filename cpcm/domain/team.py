"""Who works in a casefile repository, and who may read a case."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ROLES = ("caseworker", "supervisor", "manager")
OVERSIGHT = ("supervisor", "manager")


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    roles: tuple[str, ...]
    recipient: str
    since: str = ""
    removed: str = ""

    @property
    def active(self) -> bool:
        return not self.removed

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def to_dict(self) -> dict:
        data = {"id": self.id, "name": self.name, "roles": list(self.roles), "recipient": self.recipient, "since": self.since}
        if self.removed:
            data["removed"] = self.removed
        return data


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

    def case_readers(self, assigned: Iterable[str]) -> list[str]:
        """Worker ids who read a case: its assigned workers, then every supervisor and manager."""
        ids = [w for w in dict.fromkeys(assigned) if self.get(w)]
        ids += [w.id for w in self.active if w.has_role(*OVERSIGHT) and w.id not in ids]
        return ids

    def recipients_of(self, worker_ids: Iterable[str]) -> list[str]:
        return [w.recipient for w in (self.get(i) for i in worker_ids) if w is not None]
