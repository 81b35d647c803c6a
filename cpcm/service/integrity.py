"""Checking the repository: cpcm verify."""
from __future__ import annotations

from cpcm.service.context import Context
from cpcm.store import audit
from cpcm.workflow import rules


def verify(ctx: Context) -> list[rules.Problem]:
    """Every check of `cpcm verify`: the working tree, git's objects, the history of every record
    file, whom each record version is encrypted to, and every record you can read (cpcm/store/audit.py)."""
    return audit.verify(ctx.store, ctx.config, ctx.team, ctx.need_worker(), ctx.keys)
