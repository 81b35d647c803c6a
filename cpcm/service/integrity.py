"""Checking the repository: cpcm verify."""
from __future__ import annotations

from cpcm.domain.case import Case
from cpcm.errors import CpcmError
from cpcm.service.context import Context
from cpcm.store import audit
from cpcm.workflow import deadlines
from cpcm.workflow import retention as retention_rules
from cpcm.workflow import rules
from cpcm.workflow.fold import fold


def verify(ctx: Context) -> list[rules.Problem]:
    """Every check of `cpcm verify`: the working tree, git's objects, the history of every record
    file, whom each record version is encrypted to, and every record you can read (cpcm/store/audit.py);
    a case's `# restricted` line against its records by the one rule `cpcm due` and `cpcm check` ask too
    (`restriction_mismatch`)."""
    return audit.verify(ctx.store, ctx.config, ctx.team, ctx.need_worker(), ctx.keys,
                        lambda case_id, records, line: restriction_mismatch(ctx, fold(case_id, records), line))


def restriction_mismatch(ctx: Context, case: Case, line: bool) -> list[rules.Problem]:
    """The `restriction-mismatch` problem of a case whose `recipients` file's `# restricted` line (`line`) says other
    than its records (`deadlines.restriction_mismatch`, the one rule; `cpcm due`'s item and `cpcm check`'s problem).
    The rules in force are read only for such a case (for the rule's source), and where the agency's overrides cannot
    be read (verify names them: `config-uncommitted`) the profile's own are: verify reports what it finds either way."""
    if not retention_rules.mismatch(case, line):
        return []
    try:
        policy = ctx.policy
    except CpcmError:
        from cpcm.store import policies

        policy = policies.load(ctx.config.policy)
    return rules.check_restriction(deadlines.restriction_mismatch(case, policy, ctx.now, line))
