"""The row `cpcm list` prints and filters on for each case (`list_row`), and the tag of the
cache's table of them (`rows_tag`). Kept apart from the fill (service/fill.py) that makes and
stores the rows: the tag names this module's code, so a release that changes how the cache is
filled, and not what a row holds, leaves every stored row in use."""
from __future__ import annotations

import hashlib
from pathlib import Path

from cpcm.domain import dates
from cpcm.domain.case import Case
from cpcm.domain.dates import json_time
from cpcm.service.context import Context
from cpcm.store.cache import SummaryCache


def list_row(ctx: Context, case: Case) -> list:
    """What `cpcm list` prints and filters on (service.cases.case_summary), the age as the date
    of birth it is counted from (the age depends on the day), the times (registered, the latest
    record) in the agency's zone with its offset (`json_time`): the rows depend on the zone and
    on this code (`rows_tag`)."""
    born = case.birth_date()
    zone = ctx.zone
    return [case.status, case.stage, case.risk, case.worker, json_time(case.registered_at, zone), case.child.get("sex"),
            born.isoformat() if born else None, len(case.history), json_time(case.last_at, zone), case.name]


_row_code: str | None = None


def rows_tag(ctx: Context, cache: SummaryCache) -> str:
    """The row table's tag: the fold's fingerprint (the folded case a row is made of), the code
    that makes a row (this module and domain/dates.py, whose `json_time` writes its times) and
    the agency's zone (`ctx.zone`): an upgrade that changes the row, or another zone in
    config.yaml, makes the rows again."""
    global _row_code
    if _row_code is None:
        digest = hashlib.sha256()
        for module_file in (__file__, dates.__file__):
            digest.update(Path(module_file).read_bytes())
        _row_code = digest.hexdigest()[:16]
    return hashlib.sha256(f"{cache.fingerprint}\0{_row_code}\0{zone_name(ctx)}".encode()).hexdigest()[:24]


def zone_name(ctx: Context) -> str:
    """The agency's zone (`ctx.zone`) as the tags of what holds list rows name it (the row table,
    the list view)."""
    from cpcm.service.tables import zone_key

    zone = ctx.zone
    return zone_key(zone) or f"other:{zone!r}"
