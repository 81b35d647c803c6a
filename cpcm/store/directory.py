"""The service directory, `.cpcm/services.yaml`: providers a worker can refer to. Plain YAML
shared with the team (it holds no child's data), validated by the `service` form."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cpcm.errors import Corrupt, FieldError
from cpcm.store import codec
from cpcm.store.contract import Store
from cpcm.store.layout import SERVICES

if TYPE_CHECKING:
    from cpcm.domain.text import CsvRows

SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
LIST_COLUMNS = ("services", "languages")


def load(store: Store) -> list[dict[str, Any]]:
    """The directory as the store's readers see it (the same file, `.cpcm/services.yaml`, in the
    git store and in memory); empty when there is none."""
    return parse(store.read_plain(SERVICES))


def parse(text: bytes | None) -> list[dict[str, Any]]:
    """The services in the bytes of `.cpcm/services.yaml` (None: there is no file, so none)."""
    if text is None:
        return []
    try:
        data = codec.loads(text) or {}
    except codec.BadYaml as exc:
        raise Corrupt(f"{SERVICES}: {exc}", SERVICES) from None
    return list(data.get("services") or [])


def dump(services: list[dict[str, Any]]) -> bytes:
    return codec.dump_text({"services": sorted(services, key=lambda s: s["id"])}).encode()


def find(services: list[dict[str, Any]], service_id: str) -> dict[str, Any] | None:
    return next((s for s in services if s.get("id") == service_id), None)


def check_entry(entry: dict[str, Any], existing: list[dict[str, Any]]) -> list[FieldError]:
    """Checks beyond the form: the id's shape, uniqueness, the agreement's dates in order (its
    last day not before its first), the recipient key."""
    errors = []
    if not SERVICE_ID.match(str(entry.get("id", ""))):
        errors.append(FieldError("id", "use 1-32 lower-case letters, digits, '-' or '_'"))
    elif find(existing, entry["id"]):
        errors.append(FieldError("id", f"'{entry['id']}' is already in the directory"))
    contract = entry.get("contract") or {}
    if isinstance(contract, dict) and contract.get("start") and contract.get("end") and str(contract["end"]) < str(contract["start"]):
        errors.append(FieldError("contract.end", f"is before contract.start ({contract['start']}): give the agreement's last "
                                                 "day, on or after its first day"))
    if entry.get("recipient"):
        from cpcm.crypto import cipher

        try:
            cipher.parse_recipient(entry["recipient"])
        except ValueError as exc:
            errors.append(FieldError("recipient", str(exc)))
    return errors


def column_key(heading: str) -> str:
    """The form's key a CSV heading is read as: in any case, ' ' as '_' ('How to refer' is `how_to_refer`)."""
    return heading.strip().lower().replace(" ", "_")


def read_csv(text: str) -> CsvRows:
    """Rows of a spreadsheet export: one service a row, column names as the form's keys;
    list columns (services, languages) separated by ';'. `numbers` holds each row's number as a
    spreadsheet shows it (the header is row 1; a blank line takes a number too)."""
    from cpcm.domain.text import CsvRows, csv_rows, unread_cells

    table = csv_rows(text, "the CSV file")
    unread_cells(table, "the CSV file", column_key)
    rows = CsvRows()
    rows.numbers = table.numbers
    for row in table:
        entry = {}
        for key, value in row.items():
            if key is None or value is None or not str(value).strip():
                continue
            key = column_key(key)
            entry[key] = [v.strip() for v in value.split(";") if v.strip()] if key in LIST_COLUMNS else value.strip()
        rows.append(entry)
    return rows


def matches(need: str, service: dict[str, Any]) -> bool:
    """Whether a need (free text) is answered by a service: any word of four letters or more
    shared with its sector, name or services."""
    words = {w for w in re.findall(r"[a-z]{4,}", need.lower())}
    offered = " ".join([service.get("sector", ""), service.get("provider", ""), *service.get("services", [])]).lower()
    return any(w in offered for w in words) or any(w.rstrip("s") in offered for w in words)
