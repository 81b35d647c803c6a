"""Reports and exports: cpcm report and cpcm export.

Reports are built from every case you can read, each decrypted once (through the local
summary cache), by the pure functions in cpcm.reports (the statistics report from each case's
statistics rows, and the caseload report from each case's list row and its deadlines in the due
table, where the session keeps them), and rendered with the sandboxed Jinja
environment of cpcm.render.env from `templates/reports/<report>.<format>`. An export carries
identifying fields only for cases with consent for sharing with the receiving agency, and
notes the disclosure in each of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.service import tables
from cpcm.service.context import (CaseStream, Context, end_expired_covers, keys_for, left_out_changed_on_disk, load_cases,
                                  load_cases_counted, new_record, transaction, writes)
from cpcm.workflow.fold import effective, fold


SHAREABLE = ("statistics",)  # reports with no case-level data: may be written as plain files


@dataclass(frozen=True)
class Report:
    """A report's view model (its tables), and its text when a format was asked for."""

    kind: str
    view: dict
    text: str | None = None


def report(ctx: Context, kind: str, start: date, end: date, fmt: str | None = None, status: str = "open",
           worker: str | None = None) -> Report:
    """A management report over every case you can read (`kind`: caseload, timeliness,
    statistics, placements, readiness or referrals) for the period from `start` to `end`; rendered
    as `fmt` when given. `status` and `worker`: which cases the readiness report counts (open ones,
    anyone's); `worker`, which the referrals report counts."""
    ctx.need_worker()
    found = _statistics_rows(ctx) if kind == "statistics" else None
    if found is not None:  # each case's rows from the statistics view or table, not every folded case
        from cpcm.reports.statistics import statistics_of_rows

        rows, zone, count, total = found
        view = _with_meta(ctx, kind, statistics_of_rows(rows, ctx.policy, start, end, zone), count, total)
    elif kind == "readiness":
        view = _readiness(ctx, start, end, status, worker)
    elif kind == "referrals":
        view = _referrals(ctx, start, end, worker)
    elif kind == "complaints":
        view = _complaints(ctx, start, end)
    elif kind == "caseload" and (held := _caseload_held(ctx)) is not None:
        view = _caseload(ctx, *held, start, end)
    else:  # as last committed, as list, due and statistics read them
        view = _build(ctx, kind, CaseStream(ctx) if kind in ONE_PASS else load_cases_counted(ctx), start, end)
    if kind == "statistics":  # made before the period ended, it counts only part of it (as a return says)
        from cpcm.reports.common import period_over

        view["period_over"] = period_over(end, ctx.now.date())
    return Report(kind, view, _render(ctx, kind, fmt, view) if fmt else None)


def _statistics_rows(ctx: Context) -> tuple[list, object, int, int | None] | None:
    """Every readable case's statistics rows (grouped), their zone, the number of cases they come
    from and of case folders (None: count them): from the view of the last commit
    (service/views.py), else the per-case table; None without either."""
    from cpcm.service import views

    found = views.statistics_rows(ctx)
    if found is not None:
        return found
    found = tables.statistics_rows(ctx)
    return None if found is None else (found[0], found[1], len(found[0]), None)


def report_return(ctx: Context, start: date, end: date) -> bytes:
    """The statistics of the period as a return for aggregation (JSON): every count before any
    cell is hidden, with the agency's code and the period. No names, IDs or dates of events.
    The caller encrypts it to the county office that combines returns (`report_combine`)."""
    import json

    from cpcm.reports.statistics import counts, counts_of_rows

    ctx.need_worker()
    found = _statistics_rows(ctx)
    document = counts_of_rows(found[0], ctx.policy, start, end, found[1]) if found is not None else \
        counts(load_cases(ctx).values(), ctx.policy, start, end, ctx.now.tzinfo)
    document.update({"agency": ctx.config.agency_code, "agency_name": ctx.config.agency_name, "profile": ctx.policy.profile,
                     "made_at": ctx.now.isoformat(timespec="minutes")})
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


MAX_RETURN_BYTES = 16 * 1024 * 1024


def _bad_returns(errors: list) -> Exception:
    """`report combine` refused: the returns named by their position on the command line."""
    from cpcm.errors import InvalidInput

    return InvalidInput(errors, "the set of returns",
                        "Give each agency's return once (made with --for-aggregation --recipient and your key), all for "
                        "one period; files are numbered in the order given. Nothing was written.")


# the coverage line of a combination with returns made before the period ended (statistics.combine's `not_over`)
_NOT_OVER = "; not the whole period: {} of the returns were made before it ended (see the notes)"


def report_combine(returns: list[bytes], identity, now, fmt: str | None = None, profile: str = "inter-agency",
                   root: Path | None = None) -> Report:
    """The statistics report of several agencies' returns (each age-encrypted to `identity`),
    added up before small cells are hidden (the threshold of `profile`). Needs no casefile
    repository: a county office runs it with its own key."""
    import json

    from cpcm.crypto.cipher import Damaged, NotARecipient, decrypt
    from cpcm.errors import FieldError
    from cpcm.reports.statistics import combine
    from cpcm.store import policies

    documents = []
    for number, data in enumerate(returns, start=1):
        if len(data) > MAX_RETURN_BYTES:
            raise _bad_returns([FieldError(f"file {number}", "is too large for a statistics return")])
        try:
            plain = decrypt(data, identity.keys)
        except NotARecipient:
            raise CannotDecrypt(f"file {number} cannot be decrypted with your key",
                                "A return is encrypted to the county office's key: ask the agency to make it again "
                                "with --recipient and your age1… key.") from None
        except Damaged:
            raise _bad_returns([FieldError(f"file {number}", "is not an age-encrypted statistics return, or is damaged")]) from None
        try:
            documents.append(json.loads(plain.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _bad_returns([FieldError(f"file {number}", "is not a statistics return")]) from None
    policy = policies.load(profile, root)
    try:
        view = combine(documents, policy)
    except ValueError as exc:
        raise _bad_returns([FieldError("returns", str(exc))]) from None
    agencies = view["combined"]["agencies"]
    view["meta"] = {"agency": {"code": "+".join(agencies) if len(agencies) <= 6 else f"{len(agencies)} agencies",
                               "name": f"{len(agencies)} agencies combined"},
                    "generated_at": now.isoformat(timespec="minutes"),
                    "coverage": f"The returns of {len(agencies)} agencies ({', '.join(agencies)}), added up before small cells were hidden"
                                + (_NOT_OVER.format(len(view["combined"]["not_over"])) if view["combined"]["not_over"] else ""),
                    "cases_read": None, "cases_in_repository": None}
    return Report("statistics", view, _render_view(root, "statistics", fmt, view) if fmt else None)


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the file, how many cases, how many left out for want of consent."""

    path: Path
    encrypted: bool
    readers: int
    cases: int
    left_out: int
    fields: list[str]
    case_ids: list[str] = field(default_factory=list)  # the cases in the file (for the register of plaintext files)

    def to_json(self) -> dict:
        return {"out": str(self.path), "encrypted": self.encrypted, "cases": self.cases,
                "left_out_without_consent": self.left_out, "fields": list(self.fields)}


@writes
def export(ctx: Context, fmt: str, fields: list[str], write: Callable[[bytes], tuple[Path, bool, int]], agency: str | None = None,
           primero: bool = False, status: str | None = None, cpims: bool = False) -> Exported:
    """Export case data, one row per case (`fmt`: csv or json), through `write` (which writes
    the bytes, encrypted or not, and returns the path, whether it is encrypted and to how many
    recipients). Identifying fields leave only for cases with consent for sharing with
    `agency`; each such case then notes the disclosure (one commit), and the file is removed
    again when that cannot be written."""
    from cpcm.errors import InvalidInput
    from cpcm.reports import export as export_mod
    from cpcm.service.referrals import consent_agency_errors

    errors = consent_agency_errors(ctx, "sharing", agency)  # a name typed there is refused, not repeated
    if errors:
        raise InvalidInput(errors, "the export")
    identifying = [f for f in fields if f in export_mod.IDENTIFYING]
    if cpims:  # the national codes; the categories' codes come from the kenya registration form
        from cpcm.store import forms

        form_codes = forms.codes("registration-kenya", ctx.root)
        category_codes = form_codes.get("case_category") or {}

    def made(case: Case) -> tuple[tuple[str, str], str, dict]:  # (its place in the file, its ID, its row)
        values = export_mod.row(case, fields, ctx.now)
        return ((case.registered_at or "", case.id), case.id,
                export_mod.primero_row(values) if primero
                else export_mod.cpims_row(case, values, category_codes, form_codes) if cpims else values)

    if identifying:
        cases, uses, left_out = _consented_cases(ctx, agency, status)
        each = [made(case) for case in cases]
    else:  # every case, a case at a time (holding every folded case took about 1.1 GB at 100,000 cases)
        # a write reads the files as they are: a case changed on disk since its commit is left out and
        # named with the restore (exit 1), as `check` names it, never left out without a word
        cases, uses, left_out = [], {}, 0
        each = [made(case) for case in CaseStream(ctx, on_disk=True) if not status or case.status == status]
    each.sort(key=lambda item: item[0])
    rows = [row for _, _, row in each]
    columns = (list(rows[0]) if rows else [export_mod.PRIMERO_COLUMNS[f] for f in fields] if primero
               else [export_mod.CPIMS_COLUMNS.get(f, f"cpcm_{f}") for f in fields] if cpims else list(fields))
    if primero and "risk" in fields and "urgent_protection_concern" not in columns:
        columns.append("urgent_protection_concern")
    path, encrypted, readers = write(_export_bytes(fmt, columns, rows, ctx, agency, "primero" if primero else "cpims" if cpims else "cpcm"))
    if identifying and cases:
        try:  # each case notes the disclosure and the consent it used; no record, no file
            _record_sharing(ctx, cases, uses, agency, identifying)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return Exported(path, encrypted, readers, len(rows), left_out, columns, [case_id for _, case_id, _ in each])



def _consented_cases(ctx: Context, agency: str | None, status: str | None = None):
    """The cases an export with identifying fields may carry, and how many were left out: only cases
    with valid consent for sharing with `agency` (each read once). Returns (cases, the consent records
    each relies on, left out). A case changed on disk since its commit is left out and named with the
    restore (exit 1), as `check` names it, never left out without a word."""
    from cpcm.workflow import consent as consent_rule

    worker = ctx.need_worker()
    cases, uses, left_out = [], {}, 0
    changed = left_out_changed_on_disk(ctx)
    for case_id in ctx.store.case_ids():
        if case_id in changed or worker.id not in ctx.store.recipients(case_id):
            continue
        try:
            records = ctx.store.read_records(case_id, ctx.keys)
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
            continue
        case = fold(case_id, records)
        if status and case.status != status:
            continue
        result = consent_rule.check(records, "sharing", agency, ctx.policy, ctx.now, child_age=case.age_on(ctx.now.date()))
        if not result.ok:
            left_out += 1
            continue
        cases.append(case)
        uses[case_id] = list(result.uses)
    return cases, uses, left_out


def _record_sharing(ctx: Context, cases: Iterable[Case], uses: Mapping[str, list[str]], agency: str, fields: Iterable[str]) -> int:
    """Note in each exported case what was disclosed, to whom, and on which consent (a one-off
    consent is then used); one commit. Holds field names, never the data."""
    fields = list(fields)
    written = 0
    with transaction(ctx, "export") as tx:
        ended = ""
        for case in cases:
            readers, ended_here = end_expired_covers(ctx, tx, case)
            ended = ended or ended_here
            body = {"purpose": "export", "agency": agency, "fields": fields, "consent_ids": uses.get(case.id, [])}
            record = new_record(ctx, "sharing", case.id, body, after=case.history[-1].id if case.history else "")
            tx.write_record(record, keys_for(ctx, readers))
            written += 1
        if written:
            tx.commit(f"export {written} cases{ended}")
    return written


ONE_PASS = ("placements", "timeliness", "retention")  # reports that read each case once and keep only what they count


def _build(ctx: Context, kind: str, cases: "CaseStream | tuple[dict[str, Case], int]", start: date, end: date) -> dict:
    """The report's view model, with what the templates show about where it comes from. A report
    of `ONE_PASS` is given the cases a case at a time (memory: what it counts, not every folded case);
    the others, every folded case and the number of case folders (`load_cases_counted`)."""
    from cpcm import reports

    if kind == "caseload":
        return _caseload(ctx, list(cases[0].values()), None, None, cases[1], start, end)
    if kind == "placements":
        view = reports.placements(cases, ctx.policy, start, end, ctx.now)
    elif kind == "timeliness":
        view = reports.timeliness(cases, ctx.policy, start, end, ctx.now)
    elif kind == "retention":
        view = reports.retention(cases, ctx.policy, ctx.now)
    else:
        view = reports.statistics(cases[0].values(), ctx.policy, start, end, ctx.now.tzinfo)
        return _with_meta(ctx, kind, view, len(cases[0]), cases[1])
    return _with_meta(ctx, kind, view, cases.read, cases.total)


def _caseload(ctx: Context, cases: list, items, asked_at, total: int | None, start: date, end: date) -> dict:
    """The caseload report of `cases` (folded, or `reports.caseload.Held` rows with what gives each one's
    deadlines and approvals' times: `_caseload_held`)."""
    from cpcm import reports

    reader = _only_yours(ctx, len(cases))
    view = reports.caseload(cases, ctx.team, ctx.policy, ctx.now, reader, None if reader else _supervision(ctx, start, end),
                            items=items, asked_at=asked_at)
    return _with_meta(ctx, "caseload", view, len(cases), total)


def _caseload_held(ctx: Context) -> tuple[list, Callable, Callable, int] | None:
    """What the caseload report reads of every readable case without folding them all: each case's
    list row (status, stage, risk, worker: `fill.case_rows`), its deadlines at `now` from the due
    table (`tables.due_rows`: what `deadlines` gives, which the report takes as it would compute
    them), and, for the few approvals waiting, when each was asked for, from that one case read
    (`load_case`; as last committed: a case changed on disk since is never read from the due table
    but folded as committed, and given with its row). None where the session keeps no tables (a
    repository in memory), or where the two reads did not give the same cases (one could not be
    read): then the report folds every case, as it always did, and notes the cases that fail once."""
    from cpcm.reports.caseload import Held, requested_at
    from cpcm.service.context import load_case
    from cpcm.service.fill import case_rows

    noted = len(ctx.problems)
    info: dict = {}
    found = tables.due_rows(ctx, info)
    if found is None:
        return None
    rows = case_rows(ctx)  # the cases changed on disk as due_rows found them (`CaseStore.disk_changes`)
    due = info["values"]
    if info["failed"] or len(rows) != len(due) or any(case_id not in due for case_id in rows):
        del ctx.problems[noted:]  # noted again by the fold of every case
        return None
    held = [Held(case_id, row[0], row[1], row[2], row[3]) for case_id, row in rows.items()]
    folded = {row.case_id: row.case for row in found if row.case is not None}

    def items(case: Held) -> list:
        row = due[case.id]
        return [row.deadline(entry) for entry in row.items]

    def asked_at(case: Held, code: str) -> str | None:
        if case.id not in folded:  # folded once, for each of its approvals waiting
            folded[case.id] = load_case(ctx, case.id)
        return requested_at(folded[case.id], code)
    return held, items, asked_at, info["total"]


def _complaints(ctx: Context, start: date, end: date) -> dict:
    """The complaints report (service/complaints.py `report`): counts of the complaints you read,
    small cells hidden, with what the templates show about where it comes from."""
    from cpcm.service import complaints

    view = complaints.report(ctx, start, end)
    view["title"] = "Complaints received and resolved"
    view["as_of"] = ctx.now.isoformat(timespec="minutes")
    view["charts"] = []
    read = view["readable"]
    view = _with_meta(ctx, "complaints", view, read, read)
    # never how many there are besides: a complaint one does not read is about them, or not theirs to know of
    view["meta"]["coverage"] = f"The {read} complaints you can read"
    return view


def _readiness(ctx: Context, start: date, end: date, status: str, worker: str | None) -> dict:
    """The readiness report (reports/readiness.py): the cases it counts, each with its latest
    readiness record made in the period, scored by its own form (service/reintegration.py
    `latest_of`, with the scoring of every readiness form read once). The cached summaries hold no
    readiness score, so the records of each case counted that may hold one (a readiness record, or
    answers inside an assessment as recorded before) are read, through the record table (a record
    read before needs no decryption), as the last commit holds them, as the rest of the report.
    Where the profile offers a household graduation form (the kenya profile's CPARA), each case's
    latest graduation record in the period too, for the households by band; where it offers the
    Child Status Index, each case's latest CSI in the period, for the children by rating."""
    from cpcm import reports
    from cpcm.errors import NotFound, UsageError
    from cpcm.reports.common import Period
    from cpcm.reports.readiness import STATUSES, Assessed, Counted, chosen
    from cpcm.service import reintegration

    if status not in STATUSES:
        raise UsageError(f"--status is one of: {', '.join(STATUSES)}")
    if worker is not None and ctx.team.get(worker, include_removed=True) is None:
        raise NotFound("--worker: no worker by that id in the team", "See cpcm team list.")
    period = Period.of(start, end, ctx.now.tzinfo)
    data = reintegration.scoring(ctx)
    tables = {str(data.get("version") or ""): data}
    for name in reintegration.readiness_forms(ctx):  # Form 8A's records by its own pass marks
        other = reintegration.scoring(ctx, name)
        tables.setdefault(str(other.get("version") or ""), other)
    assessed: dict[str, Assessed] = {}
    graduation_form = ctx.policy.get("forms", reintegration.GRADUATION)  # the kenya profile's CPARA: households by band
    graduation_tables = reintegration.graduation_tables(ctx)
    bands = next((data["bands"] for name, data in graduation_tables.values() if name == graduation_form), [])
    graduated: dict[str, dict] = {}
    from cpcm.service import csi

    csi_table = csi.table(ctx, csi.offered(ctx)) if csi.offered(ctx) else None  # the kenya profile's Child Status Index
    rated: dict[str, dict] = {}
    # the cases as last committed, as list, due and the other reports read them, a case at a time, then the records
    # of those that may hold what is scored, as that commit holds them (`CaseStream.read_each`: a case whose records
    # cannot be read is noted, as a listing notes it; the other cases are counted)
    cases = CaseStream(ctx)
    counted = []
    wanted: dict[str, tuple[bool, bool]] = {}  # case ID -> (may hold a graduation record, a CSI)
    for case in chosen(cases, status, worker):
        counted.append(Counted.of(case, ctx.policy, ctx.now))
        holds_graduation = bool(bands) and reintegration.GRADUATION in case.events
        holds_csi = csi_table is not None and csi.KIND in case.events
        if _may_hold_readiness(case) or holds_graduation or holds_csi:
            wanted[case.id] = holds_graduation, holds_csi
    for case_id, found in cases.read_each(wanted):
        records = effective(found)
        holds_graduation, holds_csi = wanted[case_id]
        if holds_graduation:
            scored = reintegration.latest_graduation(ctx, [r for r in records if period.holds(r.at)], graduation_tables)
            if scored is not None:
                graduated[case_id] = scored
        if holds_csi:
            # the latest CSI made in the period, by its own date (a paper CSI entered late counts when it was made)
            made_in = (period.start.isoformat(), period.end.isoformat())
            rating = csi.latest_records([r for r in records if r.kind == csi.KIND and made_in[0] <= csi.order(r)[0] <= made_in[1]], 1)
            if rating:
                rated[case_id] = dict(rating[0].body)
        latest = reintegration.latest_of(data, [r for r in records if period.holds(r.at)], tables)
        if latest is not None:
            record = next((r for r in records if r.id == latest.record_id), None)
            occasion = record.body.get("occasion") if record is not None and record.kind == reintegration.KIND else None
            assessed[case_id] = Assessed(latest, str(occasion) if occasion else None)
    view = reports.readiness(counted, assessed, ctx.policy, start, end, ctx.now, status, worker, graduated, bands,
                             csi_table, rated)
    return _with_meta(ctx, "readiness", view, cases.read, cases.total, worker, len(counted))


def _referrals(ctx: Context, start: date, end: date, worker: str | None) -> dict:
    """The referrals report (reports/referrals.py): every referral of the cases the reader can read
    (one worker's with --worker) is in their cached summaries (the folded case's `referrals`, with
    each one's history), so no record is read; the service directory is the plain
    `.cpcm/services.yaml`."""
    from cpcm import reports
    from cpcm.errors import NotFound
    from cpcm.store import directory

    if worker is not None and ctx.team.get(worker, include_removed=True) is None:
        raise NotFound("--worker: no worker by that id in the team", "See cpcm team list.")
    cases = CaseStream(ctx)  # as last committed, as list, due and the other reports read them; a case at a time
    view = reports.referrals(cases, directory.load(ctx.store), ctx.policy, start, end, ctx.now, worker)
    return _with_meta(ctx, "referrals", view, cases.read, cases.total, worker, view["counts"]["cases"])


def _may_hold_readiness(case: Case) -> bool:
    """Whether a case may hold readiness answers, from its fold: a readiness record, or an
    assessment (answers recorded inside one, the old way); a case with neither is not read."""
    return any(event == "readiness" or event.startswith("assessment") for event in case.events)


def _supervision(ctx: Context, start: date, end: date) -> dict:
    """Each active worker's supervision in the period, counts only (service/supervision.py `report`),
    and the warning when there are more caseworkers per supervisor than the policy's ratio."""
    from cpcm.service import supervision
    from cpcm.workflow.supervision import ratio_warning

    return {"start": start.isoformat(), "end": end.isoformat(), "rows": supervision.report(ctx, start, end),
            "ratio": ratio_warning(ctx.team, ctx.policy)}


def _only_yours(ctx: Context, read: int) -> str | None:
    """The worker whose caseload report shows only their own row (`reports.caseload`'s `reader`): a
    caseworker who cannot read every case of the repository, so other workers' counts are not known
    to them. A supervisor or manager reads every case (service/context.py `readers_for`): their
    report shows everyone, as does that of a caseworker who reads every case."""
    from cpcm.workflow import approvals

    worker = ctx.need_worker()
    return None if approvals.oversees(worker) or read >= len(ctx.store.case_ids()) else worker.id


def _with_meta(ctx: Context, kind: str, view: dict, read: int, total: int | None = None, worker: str | None = None,
               counted: int = 0) -> dict:
    """The view with what the templates show about where it comes from (`read`: the cases read;
    `total`: the cases in the repository, counted when not given; `worker`: the --worker whose
    `counted` cases of those read are the only ones counted)."""
    if total is None:
        total = len(ctx.store.case_ids())
    if worker is not None:
        coverage = (f"The {counted} case{'' if counted == 1 else 's'} of {worker}{'' if read == total else ' you can read'}, "
                    f"of {total} in the repository")
    else:
        coverage = (f"All {total} cases of the repository" if read == total
                    else f"The {read} case{'' if read == 1 else 's'} you can read, of {total} in the repository")
    meta = {"agency": {"code": ctx.config.agency_code, "name": ctx.config.agency_name},
            "generated_at": ctx.now.isoformat(timespec="minutes"), "coverage": coverage,
            "cases_read": read, "cases_in_repository": total}
    if kind not in SHAREABLE:
        meta["generated_by"] = ctx.worker.id  # statistics name no worker
    view["meta"] = meta
    return view


def _render(ctx: Context, kind: str, fmt: str, view: dict) -> str:
    return _render_view(ctx.root, kind, fmt, view)


def _render_view(root: Path | None, kind: str, fmt: str, view: dict) -> str:
    """The report in `fmt` from templates/reports/ (an agency's .cpcm/templates/reports/ first),
    in the sandboxed, strict environment of cpcm.render.env. A failing template is named with
    its line, never with the data it was given."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    from cpcm.errors import NotFound
    from cpcm.render import env as env_mod

    environment = env_mod.environment(root, fmt=fmt)
    environment.filters.update({"csv_row": _csv_row, "json": _to_json})
    name = f"reports/{kind}.{fmt}"
    try:
        text = environment.get_template(name).render(view=view)
    except TemplateNotFound as exc:
        if exc.name == name:
            raise NotFound(f"no template {name}", "Report templates are in "
                           f"{', '.join(str(p / 'reports') for p in env_mod.search_path(root))}.") from None
        raise env_mod.TemplateFailed(f"template {name} includes a template that does not exist", name) from None
    except TemplateSyntaxError as exc:  # about the template's own text
        raise env_mod.TemplateFailed(f"template {exc.name or name}, line {exc.lineno}: {exc.message}", exc.filename or name) from None
    except Exception as exc:  # noqa: BLE001 - undefined values, the sandbox, a filter: never the data in the message
        raise env_mod.TemplateFailed(f"{_where(exc, name)} failed ({type(exc).__name__})", name,
                                     "Fix the template, or the report's view model (cpcm/reports/).") from None
    return text if text.endswith("\n") else text + "\n"


def _where(exc: BaseException, name: str) -> str:
    """'template reports/x.html, line N' from the traceback Jinja points into the template."""
    where, tb = f"template {name}", exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if "/reports/" in filename.replace("\\", "/") and not filename.endswith(".py"):
            where = f"template reports/{Path(filename).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _csv_row(values) -> str:
    """One CSV line (RFC 4180 quoting), cells as cpcm writes them in exports."""
    import csv
    import io

    from cpcm.reports.export import csv_value

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([csv_value(v) for v in values])
    return buffer.getvalue()


def _to_json(value) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _export_bytes(fmt: str, columns: list[str], rows: list[dict], ctx: Context, agency: str | None, target: str) -> bytes:
    import csv
    import io
    import json

    from cpcm.reports.export import csv_value

    if fmt == "json":
        document = {"format": f"{target}-case-export", "version": 1,
                    "agency": ctx.config.agency_code, "exported_at": ctx.now.isoformat(timespec="seconds"),
                    "shared_with": agency, "fields": columns, "cases": rows}
        return (json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")
