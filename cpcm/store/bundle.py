"""The transfer bundle's file format, and its receipt: building and reading them, in memory.

A transfer bundle is a tar archive built in memory (and age-encrypted in memory by the service to
the receiving agency's recipients only; its plaintext never touches the disk). It holds:

    manifest.json      what the bundle is: the case, both agencies, the transfer record, the
                       sender's return recipients (for the receipt), and the SHA-256 and size
                       of every member below
    manifest.sha256    the SHA-256 of manifest.json
    summary.yaml       the transfer (case ID, from, to, reason, date) and the case as it stands
    records/<RECORD-ID>.<kind>.yaml
                       every record of the case: its decrypted YAML bytes exactly as stored

Reading is strict: every checksum must match, and the archive must be byte for byte the one
this module writes for those members, so a flipped byte anywhere (tar padding included) or a
cut-short file is refused.

Every function here is pure (bytes in, bytes or values out): no files, no keys, no clock.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.ids import is_case_id, is_record_id
from cpcm.domain.records import Record, plain, record_damage
from cpcm.store import codec

FORMAT = "cpcm-transfer"
RECEIPT_FORMAT = "cpcm-transfer-receipt"
VERSION = 1
MANIFEST, MANIFEST_SUM, SUMMARY, RECORDS_DIR = "manifest.json", "manifest.sha256", "summary.yaml", "records/"
BUNDLE_SUFFIX = ".transfer.age"
_MEMBER = re.compile(r"^records/(?P<id>[0-9A-HJKMNP-TV-Z]{26})\.(?P<kind>[a-z][a-z0-9_-]{0,47})\.yaml$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class BundleError(Exception):
    """A bundle or receipt that is not exactly what cpcm wrote: the reason, without content."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(data: Any) -> bytes:
    """Canonical JSON: one way to write a value, so a checksum over it is stable."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


# -- the bundle ------------------------------------------------------------------------------------
def summary_of(case: Case, transfer: Record, from_agency: Mapping[str, str]) -> dict:
    """What the receiving agency reads first: the transfer, and the case as it stands (the fold)."""
    body = transfer.body
    return plain({
        "case_id": case.id, "from_agency": dict(from_agency), "to_agency": body.get("to"),
        "reason": body.get("reason"), "reason_code": body.get("reason_code"), "date": transfer.at,
        "recorded_at": transfer.recorded_at, "transferred_by": transfer.by, "transfer_record": transfer.id,
        "checklist": list(body.get("checklist") or ()), "earlier_transfers": body.get("earlier_transfers", 0),
        "consent_ids": list(body.get("consent_ids") or ()), "consent_override": body.get("consent_override"),
        "approval": body.get("approval"),
        "details": body.get("details"),  # the transfer form's fields (the kenya profile: Form 10A), when the policy names one
        "state": case.to_dict(),
    })


def _tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """The one way cpcm writes a bundle archive: fixed metadata, members in the given order."""
    import tarfile  # here, not at the top: every command imports the service, few of them a bundle

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(data), 0, 0o600, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _untar(data: bytes) -> list[tuple[str, bytes]]:
    import tarfile

    members = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                if not info.isreg():
                    raise BundleError("it holds something other than plain files")
                handle = tar.extractfile(info)
                content = handle.read() if handle else b""
                if len(content) != info.size:
                    raise BundleError("it is cut short")
                members.append((info.name, content))
    except BundleError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError):
        raise BundleError("it is not a cpcm transfer bundle, or it is cut short") from None
    return members


def build_bundle(case_id: str, records: Sequence[tuple[Record, bytes]], summary: Mapping[str, Any],
                 about: Mapping[str, Any]) -> tuple[bytes, str]:
    """The plaintext archive and its manifest's SHA-256. `records` pairs each record with its
    decrypted bytes as stored; `about` adds the manifest's other fields (agencies, sender)."""
    members = [(SUMMARY, codec.dump_text(dict(summary)).encode("utf-8"))]
    members += [(f"{RECORDS_DIR}{r.id}.{r.kind}.yaml", data) for r, data in sorted(records, key=lambda p: p[0].id)]
    manifest = {"format": FORMAT, "version": VERSION, "case_id": case_id, **about,
                "files": [{"path": name, "sha256": sha256(data), "size": len(data)} for name, data in members]}
    manifest_bytes = _json(manifest)
    digest = sha256(manifest_bytes)
    return _tar([(MANIFEST, manifest_bytes), (MANIFEST_SUM, (digest + "\n").encode())] + members), digest


@dataclass(frozen=True)
class Bundle:
    manifest: Mapping[str, Any]
    manifest_sha256: str
    summary: Mapping[str, Any]
    records: tuple[tuple[Record, bytes], ...]

    @property
    def case_id(self) -> str:
        return self.manifest["case_id"]


def _record(data: bytes, name: str) -> Record:
    try:
        return Record.from_dict(codec.loads(data))
    except codec.BadYaml:  # the parser's words may quote what the record holds: the member and the damage only
        raise BundleError(f"{name} is not valid YAML") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{name} is not a valid record ({record_damage(exc)})") from None


def open_bundle(data: bytes) -> Bundle:
    """Read and verify a decrypted bundle: BundleError with the first reason it is refused."""
    members = _untar(data)
    names = [name for name, _ in members]
    if len(set(names)) != len(names):
        raise BundleError("it holds the same file twice")
    content = dict(members)
    if MANIFEST not in content or MANIFEST_SUM not in content:
        raise BundleError("its manifest or the manifest's checksum is missing (cut short?)")
    digest = sha256(content[MANIFEST])
    if content[MANIFEST_SUM].decode("ascii", "replace").strip() != digest:
        raise BundleError("the manifest does not match its checksum")
    try:
        manifest = json.loads(content[MANIFEST])
    except ValueError:
        raise BundleError("the manifest is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError("it is not a cpcm transfer bundle")
    if manifest.get("version") != VERSION:
        raise BundleError(f"it is a version {manifest.get('version')} bundle; this cpcm reads version {VERSION}")
    case_id = manifest.get("case_id")
    files = manifest.get("files")
    if not isinstance(case_id, str) or not is_case_id(case_id) or not isinstance(files, list) or not files:
        raise BundleError("the manifest has no valid case ID or file list")
    if not is_record_id(str(manifest.get("transfer_record", ""))) or not isinstance(manifest.get("from_agency"), dict):
        raise BundleError("the manifest names no valid transfer record or sending agency")
    listed = []
    for entry in files:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not (name == SUMMARY or _MEMBER.match(name)) or name in listed:
            raise BundleError("the manifest lists a file cpcm does not write")
        if name not in content:
            raise BundleError(f"{name} is listed in the manifest but missing (the bundle is incomplete)")
        if sha256(content[name]) != entry.get("sha256") or len(content[name]) != entry.get("size"):
            raise BundleError(f"{name} does not match its SHA-256 in the manifest (altered or damaged)")
        listed.append(name)
    extra = [n for n in names if n not in listed and n not in (MANIFEST, MANIFEST_SUM)]
    if extra:
        raise BundleError(f"it holds {len(extra)} file(s) the manifest does not list")
    if SUMMARY not in listed:
        raise BundleError("the transfer summary is missing")
    expected = [MANIFEST, MANIFEST_SUM] + listed
    if names != expected or _tar([(n, content[n]) for n in expected]) != data:
        raise BundleError("its bytes differ from what cpcm writes for these files (altered)")
    records = []
    for name in listed:
        if name == SUMMARY:
            continue
        match = _MEMBER.match(name)
        record = _record(content[name], name)
        if record.id != match["id"] or record.kind != match["kind"] or record.case != case_id:
            raise BundleError(f"{name} holds a record whose id, kind or case does not match its name")
        records.append((record, content[name]))
    if not any(r.kind == "registration" for r, _ in records):
        raise BundleError("it holds no registration record")
    try:
        summary = codec.loads(content[SUMMARY])
    except codec.BadYaml:
        raise BundleError("the transfer summary is not valid YAML") from None
    if not isinstance(summary, dict) or summary.get("case_id") != case_id:
        raise BundleError("the transfer summary is for another case")
    return Bundle(manifest, digest, plain(summary), tuple(records))


def rewrite_case(plaintext: bytes, old: str, new: str) -> tuple[bytes, bool]:
    """The record with its `case` field set to `new`, and whether only that line changed (the
    other bytes kept as they were). When the line cannot be changed alone, the record is
    written out again from its parsed content (False)."""
    original = codec.loads(plaintext)
    wanted = dict(original, case=new)
    pattern = re.compile(rb"^case:[ \t]*(['\"]?)" + re.escape(old.encode()) + rb"\1[ \t]*(?=\r?\n|\Z)", re.M)
    found = list(pattern.finditer(plaintext))
    if len(found) == 1:
        candidate = plaintext[:found[0].start()] + b"case: " + new.encode() + plaintext[found[0].end():]
        try:
            if codec.loads(candidate) == wanted:
                return candidate, True
        except codec.BadYaml:
            pass
    return codec.dumps(wanted), False


def build_receipt(receipt: Mapping[str, Any]) -> bytes:
    return _json({"format": RECEIPT_FORMAT, "version": VERSION, **receipt})


def read_receipt(data: bytes) -> dict:
    """A decrypted receipt, checked: BundleError with the reason."""
    try:
        receipt = json.loads(data)
    except ValueError:
        raise BundleError("it is not a cpcm transfer receipt") from None
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT or receipt.get("version") != VERSION:
        raise BundleError("it is not a cpcm transfer receipt this version reads")
    if not is_case_id(str(receipt.get("case_id", ""))) or not is_record_id(str(receipt.get("transfer_record", ""))):
        raise BundleError("it names no valid case or transfer record")
    if not _SHA.match(str(receipt.get("manifest_sha256", ""))):
        raise BundleError("it carries no valid manifest checksum")
    return receipt
