"""Inter-agency transfer: hand a case to another agency as one encrypted bundle, take one in,
and close the loop with a receipt (IAG Step 6 transfer; ESARO S6).

A transfer moves full responsibility for a case to another agency. The bundle's format (built
and read in memory) is `cpcm.store.bundle`; the checks of a request (reason, checklist, where
the supervisor's approval stands) are `cpcm.workflow.transfers`. `transfer`, `transfer_batch`,
`receive` and `transfer_ack` here are thin shells over them, the session API of
`cpcm.service.context` and one store transaction each.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from cpcm import clock
from cpcm.crypto import cipher
from cpcm.domain.ids import new_case_id
from cpcm.domain.records import Record
from cpcm.errors import Busy, CannotDecrypt, Corrupt, FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service import context
from cpcm.service.planning import approve_command, approved_again, approvers_warning, said_settled, settled_in, settles_step, take_back
from cpcm.service.referrals import case_work_consent, check_consent
from cpcm.service.results import Written
from cpcm.store import directory
from cpcm.store import atomic
from cpcm.store.bundle import (BUNDLE_SUFFIX, BundleError, build_bundle, build_receipt, open_bundle, read_receipt, rewrite_case,
                               summary_of)
from cpcm.store.layout import RECIPIENTS, case_rel, inside, record_name
from cpcm.workflow import approvals, transitions
from cpcm.workflow.fold import fold, misfiled_out
from cpcm.service.wording import option_code
from cpcm.workflow.transfers import REASON_CODES, approval_state, earlier_transfers, request_problems

def read_plain(ctx: context.Context, case_id: str) -> list[tuple[Record, bytes]]:
    """Every record of a case with its decrypted bytes as stored, read once."""
    context.check_readable(ctx, case_id)
    return ctx.store.read_records_raw(case_id, ctx.keys)


def _unchanged(ctx: context.Context, case_id: str, names: Sequence[str]) -> None:
    if [p.name for p in ctx.store.record_files(case_id)] != list(names):
        raise Busy(f"{case_id} changed while the transfer was being prepared (a record was added); nothing was written",
                   "Run the command again.")


# -- transfer -----------------------------------------------------------------------------------
@dataclass
class _Planned:
    case_id: str
    record: Record
    names: list[str]
    bundle: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def result(self) -> Written:
        """A transfer written (kind transfer, with its bundle) or requested (kind transfer_request)."""
        return Written(self.case_id, self.record.id, self.record.kind, tuple(self.warnings), tuple(self.next_steps),
                       {"bundle_written": self.record.kind == "transfer", "manifest_sha256": self.record.body.get("manifest_sha256")})


def bundle_recipients(ctx: context.Context, to: str, given: Iterable[str]) -> tuple[list[str], list[str]]:
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
        entry = directory.find(directory.load(ctx.store), to)
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


def no_key_warning(ctx: context.Context, case_id: str, to: str) -> str | None:
    """A warning, at the request and at its approval, when the service directory holds no age key
    (`recipient`) for the receiving agency `to`: the bundle is encrypted to that key only, so the
    last step, writing it, would stop for want of one (a request given --recipient keeps its keys
    for that step, and is not warned: `request_recipients`). Not a refusal: the key may come later. It
    names how to put the key on file (the entry's `recipient`), or to give it at the last step;
    an agency code typed outside the directory is not repeated (`agency_words`). None when a key
    is on file."""
    entry = directory.find(directory.load(ctx.store), to)
    if entry and str(entry.get("recipient") or "").strip():
        return None
    give = f"or give it when the bundle is written: cpcm transfer {case_id} ... --recipient age1… (repeat for each key)"
    if entry:
        return (f"the service directory holds no age key for {to}: the bundle is encrypted to the receiving agency's key only "
                f"and cannot be written without one: put its key on file before then (cpcm service update {to} --set "
                f"recipient=age1…), {give}")
    return ("the receiving agency (--to) is not in the service directory, so no age key is on file for it: the bundle is "
            "encrypted to the receiving agency's key only and cannot be written without one: add the agency with its key "
            "before then (cpcm service add ID --provider NAME --sector SECTOR --offers SERVICE --recipient age1…, its id "
            f"as --to gives it), {give}")


def _check_out(ctx: context.Context, path: Path | None, option: str = "--out") -> None:
    """A bundle goes to a new file outside the casefile repository: inside it, it would be a file
    git does not track, which a commit made by hand would take in."""
    if path is None:
        return
    if inside(ctx.root, path):
        raise UsageError(f"{option} is inside the casefile repository: a bundle is written outside it",
                         f"Give a place outside it ({option} ~/...).")
    if option == "--out" and path.exists():
        raise UsageError("the bundle file already exists: a bundle is never overwritten; choose a new name")
    if option == "--out" and not path.expanduser().parent.is_dir():
        raise UsageError("--out: the folder it names does not exist", "Make the folder first, or correct the path.")


def details_form(ctx: context.Context) -> str | None:
    """The form of a transfer's details where the policy names one (the kenya profile: the DCS
    Transfer form, AFC Form 10A, `forms.transfer`), else None."""
    name = ctx.policy.get("forms", "transfer")
    return str(name) if name else None


def _details(ctx: context.Context, case_id: str, given: Mapping[str, Any] | None, records: Sequence[Record],
             request: Mapping | None) -> dict | None:
    """The transfer's details (Form 10A) as validated by the policy's form: those given, or
    those of the request this run carries out; InvalidInput naming every bad field."""
    name = details_form(ctx)
    if name is None:
        _no_details(ctx, given)
        return None
    if not given and request is not None:
        earlier = next((r for r in records if r.id == request.get("record_id")), None)
        if earlier is not None and earlier.body.get("details"):
            return dict(earlier.body["details"])
    body, errors = context.form_problems(ctx, name, dict(given or {}))
    if errors:
        # the form's own `reason` is not the good cause --reason gives: say how its fields are given
        raise InvalidInput(errors, f"transfer of {case_id} (the transfer form, cpcm form blank {name})",
                           f"Give the form's fields with --set FIELD=VALUE (repeat) or --from-file FILE (cpcm form blank {name}); "
                           "its 'reason' is the form's list, given with --set reason=..., not the good cause of --reason. "
                           "Nothing was written.")
    return body


def _no_details(ctx: context.Context, given: Mapping[str, Any] | None) -> None:
    """InvalidInput when a transfer form's fields are given where the policy names no form."""
    if given and details_form(ctx) is None:
        raise InvalidInput([FieldError("details", "this profile's transfer takes no form (the policy names none under "
                                                  "forms.transfer): give the options only")], "transfer")


def agency_words(ctx: context.Context, to: str) -> str:
    """The receiving agency as messages name it: its service id when the directory holds it; an
    agency code typed outside it is not repeated (a name may have been typed there)."""
    return to if directory.find(directory.load(ctx.store), to) else "the receiving agency (--to)"


def _plan(ctx: context.Context, case_id: str, to: str, reason: str, reason_code: str, checks: list[str],
          keys: list[str], at: datetime | None, given: Mapping[str, Any] | None = None,
          errors: Sequence[FieldError] = (), typed_keys: bool = False) -> _Planned:
    """What a transfer of one case would write: the request, or the transfer and its bundle;
    Refused with the reason when it may not go ahead. A case whose stage or waiting request
    stops a transfer is refused for that alone; otherwise every problem is refused at once
    (`_problems`): the consent to record first, then the request's fields (`errors`, found by
    the caller: the checklist), the transfer form's and --at. `typed_keys`: `keys` were given
    (--recipient), not the directory's: a request keeps them (in its encrypted record), and the
    run that writes the bundle of an approved request uses the request's unless it is given its own."""
    pairs = read_plain(ctx, case_id)
    records = [r for r, _ in pairs]
    names = [record_name(r.id, r.kind) for r in records]
    case = fold(case_id, records)
    transitions.advance(case.stage, "transfer", case_id)
    state, request = approval_state(case, records, to, approvals.required(ctx.policy, "transfer"))
    if state == "pending":
        raise Refused(f"{case_id}: the transfer request ({request['record_id']}) waits for a supervisor's decision",
                      f"A supervisor or manager decides: cpcm approve {case_id} transfer (or reject with --note).",
                      rule="transfer-approval-pending")
    consent_ok, details = _problems(ctx, case, records, to, given, request if state == "approved" else None, at, errors)
    unsettled = case_work_consent(ctx, case, "the transfer request" if state not in ("approved", "not_required")
                                  else "the transfer")
    after = case.history[-1].id if case.history else ""
    earlier = earlier_transfers(records)
    again = [f"{case_id}: this child has been transferred {earlier} time(s) before; each transfer raises the risk of "
             "dropping out of care (IAG Step 6)"] if earlier else []
    if state != "approved" and state != "not_required":
        transitions.advance(case.stage, "transfer_request", case_id)
        # the consent (or override) it is asked on: a correction that takes it away is then named (cpcm check); the
        # transfer that carries it out is checked again and relies on its own (workflow/consent.py used_ids)
        body = {"to": to, "reason": reason.strip(), "reason_code": reason_code, "checklist": checks, "earlier_transfers": earlier,
                "consent_ids": list(consent_ok.uses)}
        if details:
            body["details"] = details
        if typed_keys and keys:  # the receiving agency's keys given now: the last step uses them (public keys, no one's data)
            body["recipients"] = keys
        record = context.new_record(ctx, "transfer_request", case_id, body, at, after=after)
        planned = _Planned(case_id, record, names, warnings=list(again) + unsettled)
        if not keys and (missing := no_key_warning(ctx, case_id, to)):  # the bundle's last step would stop for want of it
            planned.warnings.append(missing)
        if state == "rejected":
            planned.warnings.append("the previous transfer request was rejected: a new request is recorded")
        elif state == "other_agency":
            planned.warnings.append("the approved request was for another agency: a new request is recorded")
        requested = fold(case_id, records + [record])
        stuck = approvers_warning(ctx, case_id, requested, "the transfer request", "transfer")
        if not stuck:  # else nobody may run `cpcm approve` on it: the warning names the ways out
            planned.next_steps += [f"a supervisor or manager approves the transfer: {approve_command(ctx, case_id, requested, 'transfer')}"]
        planned.next_steps += ["then run the same cpcm transfer again to write the bundle" if not stuck
                               else "once it is approved, run the same cpcm transfer again to write the bundle"]
        planned.warnings += stuck
        return planned
    kept = request_recipients(records, request) if not typed_keys else []
    kept_warnings: list[str] = []
    if kept:  # given at the request: checked again for the one writing the bundle (never their own key)
        keys, kept_warnings = bundle_recipients(ctx, to, kept)
    if not keys:
        raise UsageError("no recipient for the receiving agency: the bundle is encrypted to its key(s) only",
                         "Give --recipient age1… (repeat for each), or add the key to its entry in the service directory.")
    left_out = misfiled_out(records)
    body: dict[str, Any] = {"to": to, "reason": reason.strip(), "reason_code": reason_code, "checklist": checks,
                            "consent_ids": list(consent_ok.uses), "recipients": keys, "records": len(records) - len(left_out),
                            "earlier_transfers": earlier}
    if left_out:  # ids only: which records of this agency's file the bundle does not hold
        body["left_out"] = sorted(left_out)
    if consent_ok.override:
        body["consent_override"] = consent_ok.override
    if details:
        body["details"] = details
    if request:
        body["approval"] = {"request": request["record_id"], "decided_by": request.get("decided_by"),
                            "decided_at": request.get("decided_at")}
    record = context.new_record(ctx, "transfer", case_id, body, at, after=after)
    agency = {"code": ctx.config.agency_code, "name": ctx.config.agency_name}
    me = ctx.need_worker()
    readers = ctx.store.recipients(case_id)
    returns = list(dict.fromkeys([me.recipient] + ctx.team.recipients_of(readers)))
    about = {"from_agency": agency, "to_agency": to, "transfer_record": record.id, "created_at": record.recorded_at,
             "sender": {"worker": me.id, "return_recipients": returns}}
    # a record written in the wrong case, and the mark that took it out, stay here: the other agency gets the case without them
    sent = [(r, data) for r, data in pairs if r.id not in left_out]
    shown = fold(case_id, [r for r, _ in sent]) if left_out else case
    container, digest = build_bundle(case_id, sent, summary_of(shown, record, agency), about)
    planned = _Planned(case_id, replace(record, body={**body, "manifest_sha256": digest}), names,
                       bundle=cipher.encrypt(container, keys), warnings=list(again) + unsettled + kept_warnings)
    if consent_ok.override:
        planned.warnings.append(f"{case_id}: consent overridden ({consent_ok.why_not()})")
    planned.next_steps += ["hand the bundle file to the receiving agency; it runs: cpcm receive FILE --receipt RECEIPT",
                           "import their receipt to close the handover: cpcm transfer-ack RECEIPT (until then it is on your "
                           f"cpcm due, overdue {ctx.policy.cited('transfer_ack')} after the transfer)"]
    return planned


def request_recipients(records: Sequence[Record], request: Mapping | None) -> list[str]:
    """The receiving agency's keys given (--recipient) with the transfer request `request` (a
    case's `transfer_request`), kept in its record; [] when none were given or there is no request."""
    if not request:
        return []
    record = next((r for r in records if r.id == request.get("record_id")), None)
    return [str(k) for k in (record.body.get("recipients") or [])] if record is not None else []


def _problems(ctx: context.Context, case, records: Sequence[Record], to: str, given: Mapping[str, Any] | None,
              request: Mapping | None, at: datetime | None, errors: Sequence[FieldError] = ()):
    """(the consent the transfer is made on, its transfer form's details), or one InvalidInput
    naming every problem, in the order they are put right: the consent to record first (rule
    consent-required), then the request's fields (`errors`), the transfer form's fields and --at."""
    # an agency code outside the directory is typed: not repeated (a name may have been typed there)
    named = None if agency_words(ctx, to) == to else agency_words(ctx, to)
    first, fields, hint, form_wrong = [], list(errors), None, False
    consent_ok = details = None
    try:
        consent_ok = check_consent(ctx, case.id, "transfer", to, records, named, at=at)  # as it stood then
    except Refused as exc:
        first.append(FieldError("consent", f"{exc.message.removeprefix(case.id + ': ')}: {exc.hint}", rule=exc.rule))
        hint = "Record the consent named above first, then run the command again; nothing was written."
    try:
        details = _details(ctx, case.id, given, records, request)
    except InvalidInput as exc:  # the form's hint: how its fields are given
        fields, form_wrong = fields + exc.errors, True
        hint = exc.hint if not first else "Record the consent named above first. " + exc.hint
    fields += context.at_errors(ctx, case, at)
    if first or fields:
        form = details_form(ctx)
        what = f"transfer of {case.id}" + (f" (the transfer form, cpcm form blank {form})" if form and form_wrong else "")
        raise InvalidInput([*first, *fields], what, hint)
    return consent_ok, details


def _write(ctx: context.Context, planned: Sequence[_Planned], bundles: Mapping[str, Path], message: str) -> None:
    """Every planned record and bundle in one commit; a bundle file is removed again if the
    commit does not happen."""
    made: list[Path] = []
    with context.transaction(ctx, "transfer") as tx:
        try:
            for item in planned:
                _unchanged(ctx, item.case_id, item.names)
                tx.write_record(item.record, context.keys_for(ctx, ctx.store.recipients(item.case_id)))
            for item in planned:
                if item.bundle is not None:
                    path = bundles[item.case_id]
                    try:
                        atomic.write_private(path, item.bundle, exclusive=True)
                    except FileExistsError:
                        raise UsageError("the bundle file already exists: a bundle is never overwritten; choose a new name") from None
                    made.append(path)
            tx.commit(message)
        except BaseException:
            for path in made:
                path.unlink(missing_ok=True)
            raise


def _request_problems(ctx: context.Context, to: str, reason: str, reason_code: str,
                      checks: Iterable[str]) -> tuple[str, list[str], list[FieldError]]:
    """(the reason's code, the confirmed checklist, every bad field of the request: `request_problems`),
    the reason's code typed as its code or its words in the repository's language, as the transfer
    summary prints them (`option_code`: "kuhamia mahali pengine" for relocation in Kiswahili); one
    that is neither is refused in that language, naming the codes with their words."""
    code, why = option_code(ctx, "reason_code", reason_code, REASON_CODES)
    if why is not None:  # neither a code nor its words: checked as typed, and refused in that language
        code = reason_code
    checks, errors = request_problems(ctx.policy, to, reason, code, checks)
    if why is not None:
        errors = [FieldError("reason_code", why) if e.field == "reason_code" else e for e in errors]
    return code, checks, errors


def _check_at(ctx: context.Context, at: datetime | None) -> None:
    """A transfer's --at in the future is refused (`at_errors`), before the case is read."""
    errors = context.at_errors(ctx, None, at)
    if errors:
        raise InvalidInput(errors, "transfer")


@context.writes
def transfer(ctx: context.Context, case_id: str, to: str, reason: str, reason_code: str = "other",
             checks: Iterable[str] = (), recipients: Iterable[str] = (), out: Path | None = None,
             at: datetime | None = None, details: Mapping[str, Any] | None = None) -> Written:
    """Transfer a case to another agency. Needs a reason the policy accepts, consent for
    `transfer` to that agency (or a supervisor's override), the whole transfer checklist, and
    where the policy says so a supervisor's approval: without one, a request is recorded.
    With it, the bundle is written to `out` and the case becomes `transferred`. `details`: the
    fields of the policy's transfer form (the kenya profile: Form 10A); the run that writes the
    bundle may leave them out and the approved request's are used."""
    ctx.need_worker()
    _check_at(ctx, at)
    _check_out(ctx, out)
    _no_details(ctx, details)
    reason_code, checks, errors = _request_problems(ctx, to, reason, reason_code, checks)  # refused with the case's own below
    keys, warnings = bundle_recipients(ctx, to, recipients)
    typed = any(r and r.strip() for r in recipients)
    planned = _plan(ctx, case_id, to, reason, reason_code, checks, keys, at, details, errors, typed_keys=typed)
    if planned.bundle is not None:
        if out is None:
            raise UsageError("--out FILE is needed: where to write the bundle")
        planned.warnings[:0] = warnings
    _write(ctx, [planned], {case_id: out} if out else {}, f"transfer {case_id} {planned.record.id}")
    return planned.result()


@context.writes
def transfer_withdraw(ctx: context.Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """The one who asked for a transfer takes the request back while it waits for a decision, or
    they, the case's worker or a supervisor or manager an approved one not carried out
    (planning.take_back): the case stays here as it is, and a new request may be made later."""
    records, record = take_back(ctx, case_id, "transfer", reason, at)
    after = fold(case_id, records + [record])
    still = approvals.pending(after, "transfer")
    if still:  # two requests merged from copies apart: the other one waits for its decision
        steps = (f"the transfer requested by {still.get('by')} still waits for a decision: "
                 f"{approve_command(ctx, case_id, after, 'transfer')}",)
    elif approvals.approved_not_sent(after):  # it was made over one approved and not carried out: that one stands
        steps = (approved_again(case_id, approvals.approved_not_sent(after)),)
    else:
        steps = (f"the case stays with this agency; ask again when a transfer is needed: cpcm transfer {case_id} --to AGENCY ...",)
    settled = settled_in(after, record)
    return Written(case_id, record.id, "withdrawal", next_steps=steps + settles_step(settled), settled=said_settled(case_id, settled))


@context.writes
def transfer_batch(ctx: context.Context, to: str, reason: str, reason_code: str, checks: Iterable[str],
                   recipients: Iterable[str], out_dir: Path, at: datetime | None = None,
                   details: Mapping[str, Any] | None = None) -> Written:
    """Transfer every open case you can read to one agency (an agency leaving an area): each
    case's consent and approval are checked; those allowed get a bundle each in `out_dir`, those
    without a request get one, the rest are reported with the reason. One commit."""
    ctx.need_worker()
    _check_at(ctx, at)
    _no_details(ctx, details)
    reason_code, checks, errors = _request_problems(ctx, to, reason, reason_code, checks)
    if errors:
        raise InvalidInput(errors, "transfer")
    recipients = list(recipients)
    typed = any(r and r.strip() for r in recipients)
    keys, warnings = bundle_recipients(ctx, to, recipients)
    if not keys:
        raise UsageError("no recipient for the receiving agency: the bundles are encrypted to its key(s) only",
                         "Give --recipient age1… (repeat for each), or add the key to its entry in the service directory.")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError("--out-dir is not a folder")
    _check_out(ctx, out_dir, "--out-dir")
    planned, refused = [], []
    for case_id in sorted(c.id for c in context.CaseStream(ctx) if c.status == "open"):  # a case at a time
        path = out_dir / f"{case_id}{BUNDLE_SUFFIX}"
        try:
            item = _plan(ctx, case_id, to, reason, reason_code, checks, keys, at, details, typed_keys=typed)
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
    return Written(None, tuple(p.record.id for p in planned), "transfer", tuple(warnings) + tuple(str(e) for e in ctx.problems),
                   extra={"transferred": list(done), "requested": list(asked), "not_transferred": refused}, json_keys=("warnings",))


# -- receive ------------------------------------------------------------------------------------
# whose keys a file opens for, said when yours does not: the bundle, the receiving agency's the sender gave
# (`bundle_recipients`); the receipt, those the bundle carried for it (`return_recipients`): the sending worker's and
# the case's readers' when it was sent, its supervisors and managers among them, so that it outlives the worker who sent it
FOR_WHOM = {"bundle": "the receiving agency's keys the sending agency encrypted it to (its service directory entry, or "
                      "--recipient)",
            "receipt": "the keys of the sending worker and of the case's readers when it was sent (its supervisors and "
                       "managers): one of them records it"}


def _decrypt(ctx: context.Context, data: bytes, what: str) -> bytes:
    """The bundle or receipt opened with the acting worker's key, or an earlier key of theirs kept by `cpcm key
    rotate` when it was made for that one (`context.open_for_me`)."""
    try:
        return context.open_for_me(ctx, data)
    except cipher.NotARecipient:
        unread = (f" ({ctx.earlier_unread} earlier identity(ies) kept beside yours could not be opened: each keeps the "
                  "passphrase it had before cpcm key rotate)") if ctx.earlier_unread else ""
        raise CannotDecrypt(f"the {what} is not encrypted to your key",
                            f"A {what} opens only for {FOR_WHOM[what]}; a key replaced since (cpcm key rotate) opens it "
                            f"while its earlier identity is kept beside the new one{unread}: check --identity.") from None
    except cipher.Damaged as exc:
        raise Corrupt(f"the {what} file is damaged or truncated ({exc}); nothing was written", None,
                      f"Ask for a new copy of the {what}.") from None


def _already_received(ctx: context.Context, digest: str) -> str | None:
    """The case here that a bundle with this manifest was already received into, if you can read it."""
    me = ctx.need_worker()
    for case_id in ctx.store.case_ids():
        received = [path for path in ctx.store.record_files(case_id) if path.name.endswith(".transfer_in.yaml.age")]
        if not received or me.id not in ctx.store.recipients(case_id):  # the few cases received, not every case's readers
            continue
        for path in received:
            try:
                body = ctx.store.read_file(path, ctx.keys).body
            except (Corrupt, CannotDecrypt):
                continue
            if body.get("manifest_sha256") == digest:
                return case_id
    return None


@context.writes
def receive(ctx: context.Context, data: bytes, worker: str | None = None, receipt: Path | None = None) -> Written:
    """Take in a case another agency transferred: decrypt, verify every checksum, import it under
    its case ID (or a new one, keeping the old as `alias`), re-encrypt every record to this
    team's readers, assign it, and record `transfer_in`; all in one commit. Optionally write a
    receipt for the sending agency."""
    from cpcm.service import lookup
    from cpcm.service.cases import duplicate_reason, duplicates_said, new_case_duplicates

    me = ctx.need_worker()
    assignee = worker or me.id
    if ctx.team.get(assignee) is None:
        raise NotFound("--worker: no active worker by that id in the team", "See cpcm team list.")
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
    while case_id in taken:
        case_id = new_case_id()
    alias = old_id if case_id != old_id else None
    imported = fold(old_id, [r for r, _ in bundle.records])
    transitions.advance(imported.stage, "transfer_in", old_id)
    look, found, about, cases = new_case_duplicates(ctx, replace(imported, id=case_id))
    # the checks of every assignment (`assignment_checks`): a worker named with --worker as `assign` checks them,
    # the worker who receives it as `register` does (the case escalated at once where their cadre may not hold it)
    _, checks = context.assignment_checks(ctx, case_id, assignee, risk=imported.risk, cases=cases,
                                          count=lookup.caseload(look, assignee) if look is not None else None)
    warnings = context.new_case_checks(checks, case_id, named=bool(worker))
    # a case merged into another is named by the case the child's work goes on in, once (as at `cpcm register`)
    warnings += [f"possible duplicate: {said['case_id']} ({duplicate_reason(said)})"
                 for said in duplicates_said(ctx, found, about)]
    times = earlier_transfers(r for r, _ in bundle.records) + 1
    if times > 1:
        warnings.append(f"this child has now been transferred {times} times; each transfer raises the risk of dropping out of care")
    readers = ctx.team.case_readers([assignee])
    keys = context.keys_for(ctx, readers)
    files, reserialised = [], []
    for record, plaintext in bundle.records:
        if alias:
            plaintext, in_place = rewrite_case(plaintext, old_id, case_id)
            if not in_place:
                reserialised.append(record.id)
        files.append((f"{case_rel(case_id)}/{record_name(record.id, record.kind)}", cipher.encrypt(plaintext, keys)))
    summary = bundle.summary
    from_agency = dict(manifest.get("from_agency") or {})
    body: dict[str, Any] = {
        "from_agency": from_agency, "to_agency": manifest.get("to_agency"), "transfer_record": manifest.get("transfer_record"),
        "transferred_at": summary.get("date"), "transferred_by": sender.get("worker"), "reason": summary.get("reason"),
        "reason_code": summary.get("reason_code"), "manifest_sha256": bundle.manifest_sha256, "records": len(bundle.records),
        "worker": assignee,
    }
    if isinstance(summary.get("details"), Mapping) and summary["details"]:
        # the transfer form as sent (Form 10A): with no approval, no request in the bundle holds it (fold: its next follow-up)
        body["details"] = dict(summary["details"])
    if alias:
        body.update({"alias": alias, "case_rewritten": True})
        if reserialised:
            body["reserialised"] = reserialised
    last = max(r.id for r, _ in bundle.records)
    record = context.new_record(ctx, "transfer_in", case_id, body, after=last)
    assignment = context.new_record(ctx, "assignment", case_id, {"worker": assignee, "previous": imported.worker}, after=record.id)
    # the case that had this ID here is the child's earlier case (sent from here once: IDs are random):
    # it names the new one, so whoever looks the child up by the old ID finds where the work goes on
    returned = context.new_record(ctx, "case_link", alias, {"returned_as": case_id, "reason": "returned"},
                                  after=assignment.id) if alias else None
    receipt_bytes = None
    if receipt is not None:
        receipt_bytes = cipher.encrypt(build_receipt({
            "case_id": old_id, "received_as": case_id, "transfer_record": manifest.get("transfer_record"),
            "manifest_sha256": bundle.manifest_sha256, "received_at": clock.iso(ctx.now), "received_by": me.id,
            "receiving_agency": {"code": ctx.config.agency_code, "name": ctx.config.agency_name},
            "transfer_in_record": record.id,
        }), returns)
    with context.transaction(ctx, "receive") as tx:
        made = None
        try:
            if ctx.store.exists(case_id) or case_id in ctx.store.case_ids():
                raise Busy(f"{case_id} appeared while the bundle was being received; nothing was written", "Run the command again.")
            tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", context.recipients_bytes(readers))
            for rel, ciphertext in files:
                tx.replace_file(rel, ciphertext)
            tx.write_record(record, keys)
            tx.write_record(assignment, keys)
            if returned is not None:
                tx.write_record(returned, context.keys_for(ctx, ctx.store.recipients(alias)))
            if receipt_bytes is not None:
                try:
                    atomic.write_private(receipt, receipt_bytes, exclusive=True)
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
        steps.insert(0, f"the case ID {alias} is already used here: the case is now {case_id} (its old ID is kept as its alias; "
                        f"{alias}, the child's earlier case here, names {case_id})")
    if receipt is not None:
        steps.append("hand the receipt file to the sending agency; they run: cpcm transfer-ack RECEIPT")
    from cpcm.service.cases import record_counts

    # `records`: those the bundle carried (every record of the sender's but the transfer itself); `records_total`:
    # those the case holds here, as `cpcm show` and `cpcm log` count them, with this agency's transfer_in and assignment
    here = record_counts([r for r, _ in bundle.records] + [record, assignment])
    return Written(case_id, (record.id, assignment.id), "transfer_in", tuple(warnings), tuple(steps),
                   {"alias": alias, "worker": assignee, "records": len(bundle.records), "records_total": here["records_total"],
                    "from_agency": str(from_agency.get("code", "")),
                    "manifest_sha256": bundle.manifest_sha256, "receipt_written": receipt is not None})


# -- the receipt, back at the sending agency -------------------------------------------------------
@context.writes
def transfer_ack(ctx: context.Context, data: bytes, at: datetime | None = None) -> Written:
    """Import the receiving agency's receipt: a `transfer_ack` record on the transferred case,
    once its manifest checksum matches the bundle that was sent."""
    ctx.need_worker()
    try:
        receipt = read_receipt(_decrypt(ctx, data, "receipt"))
    except BundleError as exc:
        raise Corrupt(f"the receipt was refused: {exc}; nothing was written", None, "Ask the receiving agency for a new copy.") from None
    case_id = receipt["case_id"]
    records = context.load_records(ctx, case_id)
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
    record = context.append(ctx, fold(case_id, records), "transfer-ack", "transfer_ack", body, at)
    return Written(case_id, record.id, "transfer_ack")
