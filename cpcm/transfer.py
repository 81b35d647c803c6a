"""Inter-agency transfer: hand a case to another agency as one encrypted bundle, take one in,
and close the loop with a receipt (IAG Step 6 transfer; ESARO S6).

A transfer moves full responsibility for a case to another agency. The bundle is a tar archive
built in memory and age-encrypted in memory to the receiving agency's recipients only; its
plaintext never touches the disk. It holds:

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

The pure functions (check_request, approval_state, summary_of, build_bundle, open_bundle,
rewrite_case, build_receipt, read_receipt) do no I/O. `transfer`, `transfer_batch`, `receive`
and `transfer_ack` are thin shells over them, the `cpcm.service` helpers and one store
transaction each.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from cpcm import clock, directory
from cpcm import service
from cpcm.config import AGENCY_CODE
from cpcm.crypto import cipher
from cpcm.domain.case import Case
from cpcm.domain.ids import is_case_id, is_record_id, new_case_id
from cpcm.domain.records import Record, plain
from cpcm.errors import Busy, CannotDecrypt, Corrupt, FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.store import atomic, codec
from cpcm.store.layout import CASES, RECIPIENTS, RECORD_FILE, record_name
from cpcm.workflow import approvals, transitions
from cpcm.workflow.fold import fold

FORMAT = "cpcm-transfer"
RECEIPT_FORMAT = "cpcm-transfer-receipt"
VERSION = 1
REASON_CODES = ("better_service", "relocation", "agency_exit", "specialised_service", "difficult_case", "other")
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


# -- the request: pure checks ----------------------------------------------------------------
def checklist_of(policy) -> list[str]:
    return list(policy.get("transfer", "checklist") or [])


def check_request(policy, to: str, reason: str, reason_code: str, checks: Iterable[str]) -> list[str]:
    """The confirmed checklist, or InvalidInput naming every bad field, or Refused when the only
    reason is one the policy refuses (that the case is difficult)."""
    items = checklist_of(policy)
    checks = list(dict.fromkeys(items if "all" in checks else checks))
    errors = []
    if not AGENCY_CODE.match(to or ""):
        errors.append(FieldError("to", "names the receiving agency by its code or its service id in the directory "
                                       "(letters, digits, '.', '_' or '-', at most 32)"))
    if not (reason or "").strip():
        errors.append(FieldError("reason", "is required: the good cause, and why the other agency will serve the child better"))
    if reason_code not in REASON_CODES:
        errors.append(FieldError("reason_code", f"is not one of: {', '.join(REASON_CODES)}"))
    errors += [FieldError("check", f"'{c}' is not on the transfer checklist ({', '.join(items)})") for c in checks if c not in items]
    errors += [FieldError(f"check.{c}", "is required before a transfer (file review): confirm it with --check " + c)
               for c in items if c not in checks]
    if errors:
        raise InvalidInput(errors, "transfer")
    if reason_code in (policy.get("transfer", "refused_reasons") or ()):
        raise Refused(f"a transfer for the reason '{reason_code}' alone is refused by the policy (transfer.refused_reasons)",
                      "The guidelines: never transfer only because the child's needs are challenging; a transfer needs good "
                      "cause and a clear indication of better service. Give that reason and its code.",
                      rule="transfer-reason-refused")
    return checks


def approval_state(case: Case, records: Sequence[Record], to: str, required: bool) -> tuple[str, Mapping | None]:
    """Where the supervisor's approval stands for a transfer to `to`: not_required, approved,
    pending, rejected, other_agency (approved, for another agency) or none. A request from
    before the case's latest transfer (out, or in from another agency) no longer counts."""
    if not required:
        return "not_required", None
    boundary = max((r.id for r in records if r.kind in ("transfer", "transfer_in")), default="")
    request = case.transfer_request
    if not request or request["record_id"] <= boundary:
        return "none", None
    if request.get("decided_at") is None:
        return "pending", request
    if not request.get("approved"):
        return "rejected", request
    if request.get("to") != to:
        return "other_agency", request
    return "approved", request


def earlier_transfers(records: Iterable[Record]) -> int:
    """How many times the child was transferred before (out of here, or into here)."""
    return sum(1 for r in records if r.kind in ("transfer", "transfer_in"))


# -- the bundle: pure building and reading ------------------------------------------------------
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
        "state": case.to_dict(),
    })


def _tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """The one way cpcm writes a bundle archive: fixed metadata, members in the given order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(data), 0, 0o600, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _untar(data: bytes) -> list[tuple[str, bytes]]:
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
    except codec.BadYaml as exc:
        raise BundleError(f"{name} is not valid YAML ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{name} is not a valid record (missing or bad '{exc}')") from None


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


# -- reading a case's records as stored -------------------------------------------------------
def read_plain(ctx: service.Context, case_id: str) -> list[tuple[Record, bytes]]:
    """Every record of a case with its decrypted bytes, read once (the checks are those of
    `CaseStore.read_file`, which does not hand back the bytes)."""
    service._check_readable(ctx, case_id)
    out = []
    for path in ctx.store.record_files(case_id):
        rel = ctx.store.rel(path)
        try:
            plaintext = cipher.decrypt(path.read_bytes(), ctx.keys)
        except OSError as exc:
            raise Corrupt(f"cannot read {rel}: {exc.strerror}", rel) from None
        except cipher.NotARecipient:
            raise CannotDecrypt(f"{rel} is not encrypted to your key",
                                "Only the case's worker, supervisors and managers can read it; check --identity.") from None
        except cipher.Damaged as exc:
            raise Corrupt(f"{rel} is damaged or truncated ({exc})", rel, "Restore it from git: git checkout -- " + rel) from None
        try:
            record = _record(plaintext, rel)
        except BundleError as exc:
            raise Corrupt(f"{exc}", rel) from None
        match = RECORD_FILE.match(path.name)
        if not match or match["id"] != record.id or record.case != case_id:
            raise Corrupt(f"{rel} holds a record whose id or case does not match its file name", rel)
        out.append((record, plaintext))
    return out


def _unchanged(ctx: service.Context, case_id: str, names: Sequence[str]) -> None:
    if [p.name for p in ctx.store.record_files(case_id)] != list(names):
        raise Busy(f"{case_id} changed while the transfer was being prepared (a record was added); nothing was written",
                   "Run the command again.")


# -- transfer -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transferred(service.Written):
    """A transfer written (kind transfer, with its bundle) or requested (kind transfer_request)."""

    manifest_sha256: str | None = None

    def to_json(self) -> dict:
        data = super().to_json()
        data.update({"bundle_written": self.kind == "transfer", "manifest_sha256": self.manifest_sha256})
        return data


@dataclass
class _Planned:
    case_id: str
    record: Record
    names: list[str]
    bundle: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def result(self) -> Transferred:
        return Transferred(self.case_id, self.record.id, self.record.kind, tuple(self.warnings), tuple(self.next_steps),
                           self.record.body.get("manifest_sha256"))


def bundle_recipients(ctx: service.Context, to: str, given: Iterable[str]) -> tuple[list[str], list[str]]:
    """The receiving agency's recipients (given, or the directory entry's) and warnings. Never
    the acting worker's own key: the bundle is for the other agency only."""
    given = [r.strip() for r in given if r and r.strip()]
    errors = []
    for recipient in given:
        try:
            cipher.parse_recipient(recipient)
        except ValueError as exc:
            errors.append(FieldError("recipient", str(exc)))
    if errors:
        raise InvalidInput(errors, "transfer")
    if not given:
        entry = directory.find(directory.load(ctx.root), to)
        if entry and entry.get("recipient"):
            given = [str(entry["recipient"]).strip()]
    me = ctx.need_worker()
    if me.recipient in given or any(r in given for r in ctx.identity.recipients):
        raise Refused("the bundle would be encrypted to your own key: it is for the receiving agency only",
                      "Give the receiving agency's key with --recipient age1…", rule="transfer-recipient-not-receiving")
    warnings = []
    ours = {w.recipient: w.id for w in ctx.team.workers}
    for recipient in given:
        if recipient in ours:
            warnings.append(f"a bundle recipient is the key of '{ours[recipient]}' in this team: they will be able to read the bundle")
        elif recipient in ctx.config.recovery_recipients:
            warnings.append("a bundle recipient is this agency's recovery key: it will be able to read the bundle")
    return list(dict.fromkeys(given)), warnings


def _check_out(path: Path | None) -> None:
    if path is not None and path.exists():
        raise UsageError("the bundle file already exists: a bundle is never overwritten; choose a new name")


def _plan(ctx: service.Context, case_id: str, to: str, reason: str, reason_code: str, checks: list[str],
          keys: list[str], at: datetime | None) -> _Planned:
    """What a transfer of one case would write: the request, or the transfer and its bundle;
    Refused with the reason when it may not go ahead."""
    pairs = read_plain(ctx, case_id)
    records = [r for r, _ in pairs]
    names = [record_name(r.id, r.kind) for r in records]
    case = fold(case_id, records)
    transitions.advance(case.stage, "transfer", case_id)
    consent_ok = service.check_consent(ctx, case_id, "transfer", to, records)
    state, request = approval_state(case, records, to, approvals.required(ctx.policy, "transfer"))
    after = case.history[-1].id if case.history else ""
    earlier = earlier_transfers(records)
    again = [f"{case_id}: this child has been transferred {earlier} time(s) before; each transfer raises the risk of "
             "dropping out of care (IAG Step 6)"] if earlier else []
    if state == "pending":
        raise Refused(f"{case_id}: the transfer request ({request['record_id']}) waits for a supervisor's decision",
                      f"A supervisor or manager decides: cpcm approve {case_id} transfer (or reject with --note).",
                      rule="transfer-approval-pending")
    if state != "approved" and state != "not_required":
        transitions.advance(case.stage, "transfer_request", case_id)
        body = {"to": to, "reason": reason.strip(), "reason_code": reason_code, "checklist": checks, "earlier_transfers": earlier}
        record = service.new_record(ctx, "transfer_request", case_id, body, at, after=after)
        planned = _Planned(case_id, record, names, warnings=list(again))
        if state == "rejected":
            planned.warnings.append("the previous transfer request was rejected: a new request is recorded")
        elif state == "other_agency":
            planned.warnings.append("the approved request was for another agency: a new request is recorded")
        planned.next_steps += [f"a supervisor or manager approves the transfer: cpcm approve {case_id} transfer",
                               "then run the same cpcm transfer again to write the bundle"]
        return planned
    if not keys:
        raise UsageError("no recipient for the receiving agency: the bundle is encrypted to its key(s) only",
                         "Give --recipient age1… (repeat for each), or add the key to its entry in the service directory.")
    body: dict[str, Any] = {"to": to, "reason": reason.strip(), "reason_code": reason_code, "checklist": checks,
                            "consent_ids": list(consent_ok.uses), "recipients": keys, "records": len(records),
                            "earlier_transfers": earlier}
    if consent_ok.override:
        body["consent_override"] = consent_ok.override
    if request:
        body["approval"] = {"request": request["record_id"], "decided_by": request.get("decided_by"),
                            "decided_at": request.get("decided_at")}
    record = service.new_record(ctx, "transfer", case_id, body, at, after=after)
    agency = {"code": ctx.config.agency_code, "name": ctx.config.agency_name}
    me = ctx.need_worker()
    readers = ctx.store.recipients(case_id)
    returns = list(dict.fromkeys([me.recipient] + ctx.team.recipients_of(readers)))
    about = {"from_agency": agency, "to_agency": to, "transfer_record": record.id, "created_at": record.recorded_at,
             "sender": {"worker": me.id, "return_recipients": returns}}
    container, digest = build_bundle(case_id, pairs, summary_of(case, record, agency), about)
    planned = _Planned(case_id, replace(record, body={**body, "manifest_sha256": digest}), names,
                       bundle=cipher.encrypt(container, keys), warnings=list(again))
    if consent_ok.override:
        planned.warnings.append(f"{case_id}: consent overridden ({consent_ok.why_not()})")
    planned.next_steps += ["hand the bundle file to the receiving agency; it runs: cpcm receive FILE --receipt RECEIPT",
                           "import their receipt to close the handover: cpcm transfer-ack RECEIPT"]
    return planned


def _write(ctx: service.Context, planned: Sequence[_Planned], bundles: Mapping[str, Path], message: str) -> None:
    """Every planned record and bundle in one commit; a bundle file is removed again if the
    commit does not happen."""
    made: list[Path] = []
    with service._transaction(ctx, "transfer") as tx:
        try:
            for item in planned:
                _unchanged(ctx, item.case_id, item.names)
                tx.write_record(item.record, service._recipient_keys(ctx, ctx.store.recipients(item.case_id)))
            for item in planned:
                if item.bundle is not None:
                    path = bundles[item.case_id]
                    try:
                        atomic.write(path, item.bundle, exclusive=True)
                    except FileExistsError:
                        raise UsageError("the bundle file already exists: a bundle is never overwritten; choose a new name") from None
                    made.append(path)
            tx.commit(message)
        except BaseException:
            for path in made:
                path.unlink(missing_ok=True)
            raise


def _check_at(at: datetime | None, now: datetime) -> None:
    if at is not None and at > now:
        raise InvalidInput([FieldError("at", "is in the future")], "transfer")


def transfer(ctx: service.Context, case_id: str, to: str, reason: str, reason_code: str = "other",
             checks: Iterable[str] = (), recipients: Iterable[str] = (), out: Path | None = None,
             at: datetime | None = None) -> Transferred:
    """Transfer a case to another agency. Needs a reason the policy accepts, consent for
    `transfer` to that agency (or a supervisor's override), the whole transfer checklist, and
    where the policy says so a supervisor's approval: without one, a request is recorded.
    With it, the bundle is written to `out` and the case becomes `transferred`."""
    ctx.need_worker()
    _check_at(at, ctx.now)
    checks = check_request(ctx.policy, to, reason, reason_code, checks)
    keys, warnings = bundle_recipients(ctx, to, recipients)
    _check_out(out)
    planned = _plan(ctx, case_id, to, reason, reason_code, checks, keys, at)
    if planned.bundle is not None:
        if out is None:
            raise UsageError("--out FILE is needed: where to write the bundle")
        planned.warnings[:0] = warnings
    _write(ctx, [planned], {case_id: out} if out else {}, f"transfer {case_id} {planned.record.id}")
    return planned.result()


@dataclass(frozen=True)
class BatchResult:
    transferred: tuple[dict, ...]
    requested: tuple[dict, ...]
    not_transferred: tuple[dict, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"transferred": list(self.transferred), "requested": list(self.requested),
                "not_transferred": list(self.not_transferred), "warnings": list(self.warnings)}


def transfer_batch(ctx: service.Context, to: str, reason: str, reason_code: str, checks: Iterable[str],
                   recipients: Iterable[str], out_dir: Path, at: datetime | None = None) -> BatchResult:
    """Transfer every open case you can read to one agency (an agency leaving an area): each
    case's consent and approval are checked; those allowed get a bundle each in `out_dir`, those
    without a request get one, the rest are reported with the reason. One commit."""
    ctx.need_worker()
    _check_at(at, ctx.now)
    checks = check_request(ctx.policy, to, reason, reason_code, checks)
    keys, warnings = bundle_recipients(ctx, to, recipients)
    if not keys:
        raise UsageError("no recipient for the receiving agency: the bundles are encrypted to its key(s) only",
                         "Give --recipient age1… (repeat for each), or add the key to its entry in the service directory.")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError("--out-dir is not a folder")
    cases = service.load_cases(ctx)
    planned, refused = [], []
    for case_id in sorted(c.id for c in cases.values() if c.status == "open"):
        path = out_dir / f"{case_id}{BUNDLE_SUFFIX}"
        try:
            item = _plan(ctx, case_id, to, reason, reason_code, checks, keys, at)
            if item.bundle is not None and path.exists():
                raise UsageError(f"a bundle for {case_id} is already in the folder")
        except (Refused, UsageError, CannotDecrypt, Corrupt, NotFound) as exc:
            refused.append({"case_id": case_id, "reason": exc.message, "rule": getattr(exc, "rule", None) or type(exc).__name__})
            continue
        planned.append(item)
        warnings += item.warnings
    bundles = {p.case_id: out_dir / f"{p.case_id}{BUNDLE_SUFFIX}" for p in planned if p.bundle is not None}
    if planned:
        _write(ctx, planned, bundles, f"transfer batch {len(planned)} cases")
    done = tuple({"case_id": p.case_id, "record_id": p.record.id, "bundle": bundles[p.case_id].name,
                  "manifest_sha256": p.record.body.get("manifest_sha256")} for p in planned if p.bundle is not None)
    asked = tuple({"case_id": p.case_id, "record_id": p.record.id, "reason": "approval requested: "
                   f"cpcm approve {p.case_id} transfer"} for p in planned if p.bundle is None)
    return BatchResult(done, asked, tuple(refused), tuple(warnings) + tuple(str(e) for e in ctx.problems))


# -- receive ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    case_id: str
    record_id: str
    alias: str | None
    worker: str
    records: int
    from_agency: str
    manifest_sha256: str
    receipt_written: bool
    warnings: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"case_id": self.case_id, "record_id": self.record_id, "kind": "transfer_in", "alias": self.alias,
                "worker": self.worker, "records": self.records, "from_agency": self.from_agency,
                "manifest_sha256": self.manifest_sha256, "receipt_written": self.receipt_written,
                "warnings": list(self.warnings), "next_steps": list(self.next_steps)}


def _decrypt(ctx: service.Context, data: bytes, what: str) -> bytes:
    try:
        return cipher.decrypt(data, ctx.keys)
    except cipher.NotARecipient:
        raise CannotDecrypt(f"the {what} is not encrypted to your key",
                            f"A {what} opens only for the keys it was made for: check --identity.") from None
    except cipher.Damaged as exc:
        raise Corrupt(f"the {what} file is damaged or truncated ({exc}); nothing was written", None,
                      f"Ask for a new copy of the {what}.") from None


def _already_received(ctx: service.Context, digest: str) -> str | None:
    """The case here that a bundle with this manifest was already received into, if you can read it."""
    me = ctx.need_worker()
    for path in sorted((ctx.root / CASES).glob("*/*.transfer_in.yaml.age")):
        if me.id not in ctx.store.recipients(path.parent.name):
            continue
        try:
            body = codec.loads(cipher.decrypt(path.read_bytes(), ctx.keys)) or {}
        except (OSError, cipher.NotARecipient, cipher.Damaged, codec.BadYaml):
            continue
        if isinstance(body, dict) and body.get("manifest_sha256") == digest:
            return path.parent.name
    return None


def receive(ctx: service.Context, data: bytes, worker: str | None = None, receipt: Path | None = None) -> Received:
    """Take in a case another agency transferred: decrypt, verify every checksum, import it under
    its case ID (or a new one, keeping the old as `alias`), re-encrypt every record to this
    team's readers, assign it, and record `transfer_in`; all in one commit. Optionally write a
    receipt for the sending agency."""
    from cpcm.workflow.duplicates import probable_duplicates

    me = ctx.need_worker()
    assignee = worker or me.id
    if ctx.team.get(assignee) is None:
        raise NotFound(f"no active worker '{assignee}' in the team", "See cpcm team list.")
    if receipt is not None and receipt.exists():
        raise UsageError("the receipt file already exists: choose a new name")
    try:
        bundle = open_bundle(_decrypt(ctx, data, "bundle"))
    except BundleError as exc:
        raise Corrupt(f"the bundle was refused: {exc}; nothing was written", None,
                      "Ask the sending agency for a new copy, sent again to your key.") from None
    manifest, old_id = bundle.manifest, bundle.case_id
    existing = _already_received(ctx, bundle.manifest_sha256)
    if existing:
        raise Refused(f"this bundle was already received, as {existing}", f"See cpcm show {existing}.",
                      rule="transfer-already-received")
    sender = manifest.get("sender") or {}
    returns = [str(r) for r in sender.get("return_recipients") or []]
    if receipt is not None:
        try:
            if not returns:
                raise ValueError("none")
            for recipient in returns:
                cipher.parse_recipient(recipient)
        except ValueError:
            raise Corrupt("the bundle carries no valid key to send a receipt to; nothing was written", None,
                          "Receive it without --receipt and tell the sending agency another way.") from None
    case_id = old_id
    taken = set(ctx.store.case_ids())
    while case_id in taken or (ctx.root / CASES / case_id).exists():
        case_id = new_case_id()
    alias = old_id if case_id != old_id else None
    imported = fold(old_id, [r for r, _ in bundle.records])
    transitions.advance(imported.stage, "transfer_in", old_id)
    warnings = service._caseload_warnings(ctx, assignee)
    found = probable_duplicates(replace(imported, id=case_id), service.load_cases(ctx).values())
    warnings += [f"possible duplicate: {other} ({why})" for other, why in found]
    times = earlier_transfers(r for r, _ in bundle.records) + 1
    if times > 1:
        warnings.append(f"this child has now been transferred {times} times; each transfer raises the risk of dropping out of care")
    readers = ctx.team.case_readers([assignee])
    keys = service._recipient_keys(ctx, readers)
    files, reserialised = [], []
    for record, plaintext in bundle.records:
        if alias:
            plaintext, in_place = rewrite_case(plaintext, old_id, case_id)
            if not in_place:
                reserialised.append(record.id)
        files.append((f"{CASES}/{case_id}/{record_name(record.id, record.kind)}", cipher.encrypt(plaintext, keys)))
    summary = bundle.summary
    from_agency = dict(manifest.get("from_agency") or {})
    body: dict[str, Any] = {
        "from_agency": from_agency, "to_agency": manifest.get("to_agency"), "transfer_record": manifest.get("transfer_record"),
        "transferred_at": summary.get("date"), "transferred_by": sender.get("worker"), "reason": summary.get("reason"),
        "reason_code": summary.get("reason_code"), "manifest_sha256": bundle.manifest_sha256, "records": len(bundle.records),
        "worker": assignee,
    }
    if alias:
        body.update({"alias": alias, "case_rewritten": True})
        if reserialised:
            body["reserialised"] = reserialised
    last = max(r.id for r, _ in bundle.records)
    record = service.new_record(ctx, "transfer_in", case_id, body, after=last)
    assignment = service.new_record(ctx, "assignment", case_id, {"worker": assignee, "previous": imported.worker}, after=record.id)
    receipt_bytes = None
    if receipt is not None:
        receipt_bytes = cipher.encrypt(build_receipt({
            "case_id": old_id, "received_as": case_id, "transfer_record": manifest.get("transfer_record"),
            "manifest_sha256": bundle.manifest_sha256, "received_at": clock.iso(ctx.now), "received_by": me.id,
            "receiving_agency": {"code": ctx.config.agency_code, "name": ctx.config.agency_name},
            "transfer_in_record": record.id,
        }), returns)
    with service._transaction(ctx, "receive") as tx:
        made = None
        try:
            if ctx.store.exists(case_id) or (ctx.root / CASES / case_id).exists():
                raise Busy(f"{case_id} appeared while the bundle was being received; nothing was written", "Run the command again.")
            tx.replace_file(f"{CASES}/{case_id}/{RECIPIENTS}", service._recipients_bytes(readers))
            for rel, ciphertext in files:
                tx.replace_file(rel, ciphertext)
            tx.write_record(record, keys)
            tx.write_record(assignment, keys)
            if receipt_bytes is not None:
                try:
                    atomic.write(receipt, receipt_bytes, exclusive=True)
                except FileExistsError:
                    raise UsageError("the receipt file already exists: choose a new name") from None
                made = receipt
            tx.commit(f"receive {case_id} {record.id}")
        except BaseException:
            if made is not None:
                made.unlink(missing_ok=True)
            raise
    steps = [f"read it: cpcm show {case_id}"]
    if alias:
        steps.insert(0, f"the case ID {alias} is already used here: the case is now {case_id} (its old ID is kept as its alias)")
    if receipt is not None:
        steps.append("hand the receipt file to the sending agency; they run: cpcm transfer-ack RECEIPT")
    return Received(case_id, record.id, alias, assignee, len(bundle.records), str(from_agency.get("code", "")),
                    bundle.manifest_sha256, receipt is not None, tuple(warnings), tuple(steps))


# -- the receipt, back at the sending agency -------------------------------------------------------
def transfer_ack(ctx: service.Context, data: bytes, at: datetime | None = None) -> service.Written:
    """Import the receiving agency's receipt: a `transfer_ack` record on the transferred case,
    once its manifest checksum matches the bundle that was sent."""
    ctx.need_worker()
    try:
        receipt = read_receipt(_decrypt(ctx, data, "receipt"))
    except BundleError as exc:
        raise Corrupt(f"the receipt was refused: {exc}; nothing was written", None, "Ask the receiving agency for a new copy.") from None
    case_id = receipt["case_id"]
    records = service.load_records(ctx, case_id)
    sent = next((r for r in records if r.kind == "transfer" and r.id == receipt["transfer_record"]), None)
    if sent is None:
        raise Refused(f"{case_id} has no transfer {receipt['transfer_record']}: the receipt is for another transfer",
                      rule="transfer-ack-unknown")
    if sent.body.get("manifest_sha256") != receipt["manifest_sha256"]:
        raise Refused(f"{case_id}: the receipt's manifest checksum differs from the bundle sent in {sent.id}",
                      "The receiving agency holds a different or altered bundle: contact them before anything else.",
                      rule="transfer-ack-mismatch")
    if any(r.kind == "transfer_ack" and r.body.get("transfer_record") == sent.id for r in records):
        raise Refused(f"{case_id}: the receipt for {sent.id} is already recorded", rule="transfer-already-acknowledged")
    body = {"transfer_record": sent.id, "manifest_sha256": receipt["manifest_sha256"],
            "receiving_agency": receipt.get("receiving_agency"), "received_at": receipt.get("received_at"),
            "received_by": receipt.get("received_by")}
    if receipt.get("received_as") and receipt["received_as"] != case_id:
        body["received_as"] = receipt["received_as"]
    record = service._append(ctx, fold(case_id, records), "transfer-ack", "transfer_ack", body, at)
    return service.Written(case_id, record.id, "transfer_ack")
