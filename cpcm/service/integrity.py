"""Checking the repository: cpcm verify."""
from __future__ import annotations

from cpcm.domain.records import Record
from cpcm.service.context import Context
from cpcm.store import audit
from cpcm.workflow import retention as retention_rules
from cpcm.workflow import rules
from cpcm.workflow.fold import fold


def verify(ctx: Context) -> list[rules.Problem]:
    """Every check of `cpcm verify`: the working tree, git's objects, the history of every record
    file, whom each record version is encrypted to, and every record you can read (cpcm/store/audit.py)."""
    return audit.verify(ctx.store, ctx.config, ctx.team, ctx.need_worker(), ctx.keys, folded_restriction)


def folded_restriction(case_id: str, records: list[Record]) -> tuple[bool, str | None]:
    """What a case's records say of it: restricted to the managers as the one rule has it
    (retention_rules.restricted), and its worker."""
    case = fold(case_id, records)
    return retention_rules.restricted(case), case.worker
