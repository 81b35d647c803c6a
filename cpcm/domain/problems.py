"""A problem found in a case, a conference, the caseloads or the repository: what `cpcm check`,
`cpcm verify` and the conference checks report, each with a stable code (docs/exit-codes.md)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str  # error or warning
    message: str
    rule: str
    source: str
    case_id: str | None = None
    worker: str | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)
