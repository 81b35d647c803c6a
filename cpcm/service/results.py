"""What a service function that writes returns: one type, `Written`, for every command.

It names the case (or conference) written to, the record(s) written, their kind, warnings for
the worker, the next steps (and the sync conflicts they say it settles: `settled`), and anything
else the command reports (`extra`). `to_json` is the
command's `--json` output: the standard keys the command carries (`json_keys`; scripts rely on
them, so a command carries each in every run and never loses one: one is added only with its page
of docs/commands saying so), then `extra`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from cpcm.domain.ids import CONFERENCE_PREFIX

STANDARD = ("subject", "record_id", "kind", "warnings", "next_steps")


@dataclass(frozen=True)
class Written:
    """What a command wrote, and what the worker should know next."""

    subject_id: str | None
    record_ids: tuple[str, ...] | str = ()
    kind: str | None = None
    warnings: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    json_keys: tuple[str, ...] = STANDARD
    # the sync conflicts the next steps already say the command settles, as (case ID, conflict code):
    # the warning saying so (context.note_settled) is left out for them (context.with_settled), so
    # that each is said once, whatever the words of the step. Not part of the --json output.
    settled: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.record_ids, str):  # one record: its id
            object.__setattr__(self, "record_ids", (self.record_ids,))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "next_steps", tuple(self.next_steps))
        object.__setattr__(self, "settled", tuple((str(case), str(code)) for case, code in self.settled))

    @property
    def record_id(self) -> str | None:
        """The (first) record written."""
        return self.record_ids[0] if self.record_ids else None

    @property
    def case_id(self) -> str | None:
        """The case written to (None for a conference or a command over many cases)."""
        return None if self.is_conference else self.subject_id

    @property
    def is_conference(self) -> bool:
        return bool(self.subject_id and self.subject_id.startswith(CONFERENCE_PREFIX + "-"))

    def to_json(self) -> dict:
        data: dict[str, Any] = {}
        if "subject" in self.json_keys:
            data["conference_id" if self.is_conference else "case_id"] = self.subject_id
        if "record_id" in self.json_keys:
            data["record_id"] = self.record_id
        if "kind" in self.json_keys:
            data["kind"] = self.kind
        data.update(self.extra)
        if "warnings" in self.json_keys:
            data["warnings"] = list(self.warnings)
        if "next_steps" in self.json_keys:
            data["next_steps"] = list(self.next_steps)
        return data
