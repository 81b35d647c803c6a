"""The row `cpcm list` prints and filters on for each case (`list_row`), and the tag of the
cache's table of them (`rows_tag`). Kept apart from the fill (service/fill.py) that makes and
stores the rows: the tag names this module's code, so a release that changes how the cache is
filled, and not what a row holds, leaves every stored row in use."""
from __future__ import annotations

import hashlib

from cpcm.domain.case import Case
from cpcm.domain.dates import json_time
from cpcm.service.context import Context
from cpcm.store import codeprint
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


def rows_tag(ctx: Context, cache: SummaryCache) -> str:
    """The row table's tag: the fold's fingerprint (the folded case a row is made of), the code
    that makes a row (this module, and domain/dates.py with what it imports: `json_time` writes its times) and
    the agency's zone (`ctx.zone`): an upgrade that changes the row, or another zone in
    config.yaml, makes the rows again."""
    return hashlib.sha256(f"{cache.fingerprint}\0{row_code()}\0{zone_name(ctx)}".encode()).hexdigest()[:24]


def row_code() -> str:
    """A digest of the code that makes a row: this module and what it runs of the rules and dates
    (`codeprint.digest`)."""
    return codeprint.digest(own=(__file__,))[:16]


def zone_name(ctx: Context) -> str:
    """The agency's zone (`ctx.zone`) as the tags of what holds list rows name it (the row table,
    the list view)."""
    from cpcm.service.tables import zone_key

    zone = ctx.zone
    return zone_key(zone) or f"other:{zone!r}"
