"""What a service function that writes returns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Written:
    """What a command wrote: the record, and what the worker should know next."""

    case_id: str
    record_id: str
    kind: str
    warnings: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"case_id": self.case_id, "record_id": self.record_id, "kind": self.kind,
                "warnings": list(self.warnings), "next_steps": list(self.next_steps)}
