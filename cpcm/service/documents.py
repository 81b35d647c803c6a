"""Documents: cpcm render. A case's documents (the whole case file, the case plan, the child's
plan, the closure report, the transfer summary, a referral's letter) and a case conference's (agenda, minutes,
conference-report), built from the records and rendered from the templates; the CLI writes or
prints the text."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from cpcm.errors import FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service import conferences
from cpcm.service.context import Context, append, form_for, load_records, parse_case_id, writes
from cpcm.store import directory
from cpcm.workflow import approvals
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import keyworker as keyworker_rules
from cpcm.workflow.conferences import DOCUMENTS as CONFERENCE_DOCUMENTS
from cpcm.workflow.fold import effective, fold, misfiled_out
from cpcm.workflow.rules import off_team


@dataclass(frozen=True)
class Document:
    """A rendered document: its text, what it is of, and in which language."""

    template: str
    subject_id: str
    lang: str
    format: str
    text: str
    provider_recipient: str | None = None  # a referral letter: the provider's age key, when the directory has one
    warnings: tuple[str, ...] = field(default_factory=tuple)
    screening: dict | None = None  # the child's file: what it leaves out and what to read before it is given
    release: str | None = None  # the child's file given (--given-to): the record that says so


def render(ctx: Context, template: str, subject: str, ref: str | None = None, lang: str | None = None, fmt: str = "md",
           destination: str = "stdout", leave_out: Sequence[str] = (), given_to: str | None = None,
           write: Callable[[str], Path | None] | None = None) -> Document:
    """A document of a case (or, for agenda, minutes and conference-report, of a conference),
    in `lang` (default: the repository's language) and `fmt`. A conference's document is
    recorded in its folder (one commit; `destination` says where it went, never the text).

    The child's own file (`child-file`) leaves out what is about other people and the records
    in `leave_out` (record IDs the worker chose after screening); given to someone (`given_to`:
    child, young_person or representative), it is written through `write` (which writes the
    text to its file and returns the path, or None for standard output) and the release is
    recorded in the case (`give_child_file`)."""
    if template != CHILD_FILE and (leave_out or given_to):
        raise UsageError(f"{'--given-to' if given_to else '--leave-out'} is for the child's own file only",
                         "cpcm render child-file CASE --given-to child|young_person|representative [--leave-out RECORD-ID ...]")
    if template == CHILD_FILE and given_to is not None:
        return give_child_file(ctx, subject, lang, fmt, destination, leave_out, given_to, write)
    warnings: list[str] = []
    if template in CONFERENCE_DOCUMENTS:
        subject_id = conferences.parse_conference_id(subject)
        lang = _language(ctx, template, lang, fmt, warnings)
        text = conferences.document(ctx, template, subject_id, lang, fmt, destination, warnings)
        provider = None
    else:
        subject_id = parse_case_id(subject)
        lang = _language(ctx, template, lang, fmt, warnings)
        if template == "referral-letter":
            text, provider = referral_letter(ctx, subject_id, ref, lang, fmt)
        elif template == "case-file":
            text, provider = case_file(ctx, subject_id, lang, fmt), None
        elif template == CHILD_FILE:
            text, screened = child_file(ctx, subject_id, lang, fmt, leave_out)
            return Document(template, subject_id, lang, fmt, text if text.endswith("\n") else text + "\n", None, tuple(warnings),
                            screening=screening_of(screened))
        else:
            text, provider = document(ctx, template, subject_id, lang, fmt), None
    if not text.endswith("\n"):
        text += "\n"
    return Document(template, subject_id, lang, fmt, text, provider, tuple(warnings))


def documents(root) -> dict[str, set[tuple[str, str]]]:
    """The documents that can be rendered from the repository at `root` (None: the shipped
    templates only): a view for them, and at least one template. {name: {(lang, format), ...}}:
    what a wrong name lists and `cpcm render --help` shows."""
    from cpcm.render import env, views

    found = env.available(root)
    return {name: found[name] for name in (*views.documents(), *CONFERENCE_DOCUMENTS) if name in found}


def document_names(root) -> tuple[list[str], list[str]]:
    """The names of `documents(root)`: (a case's, a conference's), each sorted."""
    names = documents(root)
    return (sorted(n for n in names if n not in CONFERENCE_DOCUMENTS), sorted(n for n in names if n in CONFERENCE_DOCUMENTS))


def _language(ctx: Context, template: str, option: str | None, fmt: str, warnings: list[str]) -> str:
    """--lang, else the repository's language; exit 3 (listing what there is) when there is
    no such document or no template for it in that language and format."""
    found = documents(ctx.root)
    if template not in found:
        raise NotFound("no template by that name", f"Templates: {', '.join(sorted(found))}.")
    variants = found[template]
    languages = sorted({lang for lang, f in variants if f == fmt})
    wanted = (option or ctx.config.language or "en").strip().lower()
    if (wanted, fmt) in variants:
        return wanted
    if option is None and ("en", fmt) in variants:
        warnings.append(f"no {template} template in the repository's language '{wanted}' ({fmt}); using English")
        return "en"
    raise NotFound(f"no {template} template in the language of --lang as {fmt}",
                   f"Languages for {template} as {fmt}: {', '.join(languages) or 'none'}.")


def document(ctx: Context, template: str, case_id: str, lang: str, fmt: str) -> str:
    """The rendered document for the case's latest plan version (or, for a closure report or
    a transfer summary, for the case's whole file)."""
    from cpcm.render import env, views

    records = load_records(ctx, case_id)  # decrypted once: the fold and the plan's body
    case = fold(case_id, records)
    if template in views.CASE_VIEWS:  # closure-report, transfer-summary: the whole file (exit 4 when there is none)
        view = views.CASE_VIEWS[template](
            case, records, ctx.policy, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
            services=_service_names(ctx), agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name}, zone=ctx.zone,
            **({"parties": form_choice_words(ctx, {"sign-off"}, lang).get("sign-off", {}).get("party")} if template == "closure-report" else {}),
            **({"next_review": _review_when_left(ctx, case, records)} if template == "transfer-summary" else {}),
        )
        return env.render(template, lang, fmt, view, ctx.root)
    if not case.plan:
        raise NotFound(f"{case_id} has no case plan yet", f"Record one first: cpcm plan {case_id}")
    plan_record = next(r for r in records if r.id == case.plan["record_id"])
    extra = {"next_review": _next_review(ctx, case)}  # when the case is next reviewed: the review clock, as cpcm due has it
    decided = approvals.decision_on(effective(records), "plan", plan_record.id)  # its approval's conditions, its rejection's reason
    extra["decision_note"] = decided.body.get("note") if decided is not None else None
    if template == "child-plan":
        extra["typed_lang"] = ctx.config.language or "en"
    view = views.VIEWS[template](
        case, plan_record, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        approval_required=approvals.required(ctx.policy, "plan"), zone=ctx.zone, **extra,
        before_reopening=not deadlines_mod.plan_actions_due(case, ctx.policy),  # as `cpcm show` says it
    )
    return env.render(template, lang, fmt, view, ctx.root)


def referral_letter(ctx: Context, case_id: str, ref: str | None, lang: str, fmt: str) -> tuple[str, str | None]:
    """A referral's letter, holding exactly what the referral was allowed to share, signed by the
    worker who renders it for this agency; and the provider's age recipient from the service
    directory, when it has one."""
    from cpcm.render import env, views

    if not ref:
        raise UsageError("referral-letter needs the referral: cpcm render referral-letter CASE R1")
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    entry = case.referral(ref)
    if entry is None:
        raise NotFound(f"{case_id} has no referral by that reference", f"Its referrals: {', '.join(r['ref'] for r in case.referrals) or 'none'}.")
    _consent_taken_away(case_id, entry)
    record = next(r for r in records if r.id == entry["record_id"])
    provider = directory.find(directory.load(ctx.store), entry["service"])
    limit = ctx.policy.duration("referral_feedback", "limit")
    view = views.referral_letter_view(
        case, record, provider, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name},
        feedback_days=(limit.after(ctx.now) - ctx.now).days, signer=ctx.need_worker().id,
        keyworker=keyworker_rules.current(effective(records), case.worker, off_team(ctx.team)), zone=ctx.zone,
    )
    return env.render("referral-letter", lang, fmt, view, ctx.root), (provider or {}).get("recipient")


def _consent_taken_away(case_id: str, entry: dict) -> None:
    """Refused (exit 4, the `cpcm check` error's code) for the letter of a referral whose consent its
    giver answered otherwise since (`referral-consent-withdrawn`) or a correction took away
    (`referral-consent-corrected`), with no supervisor's override standing in (the fold keeps those:
    workflow/consent.py `withdrawn_after`, `corrected_away`): the letter carries the child's data to the
    provider, and nothing more goes to the service on it (docs/workflow.md, Consent). Open, the hint is
    the rule's own words (close it, an override, the answer given again); closed, what the service was
    told stands."""
    from cpcm.workflow import consent as consent_rules

    withdrawn, corrected = list(entry.get("consent_withdrawn") or ()), list(entry.get("consent_corrected") or ())
    if not withdrawn and not corrected:
        return
    ref = entry["ref"]
    how = "withdrawn by its giver since" if withdrawn else "corrected away since (cpcm correct)"
    if entry.get("status") == "closed":
        hint = f"Referral {ref} is closed: what the service was told stands (cpcm show {case_id} {ref})."
    else:
        hint = " ".join([consent_rules.withdrawn_text(case_id, ref, item) for item in withdrawn]
                        + [consent_rules.corrected_away_text(case_id, ref, item) for item in corrected])
    raise Refused(f"{case_id}: the letter of referral {ref} is not made: the consent it was sent on was {how}, and no "
                  "supervisor's override stands in: nothing more goes to the service on it; nothing was written", hint,
                  rule="referral-consent-withdrawn" if withdrawn else "referral-consent-corrected")


def case_file(ctx: Context, case_id: str, lang: str, fmt: str) -> str:
    """The whole case file: every record, corrected ones too, in order of `at`, each in the
    readable form `cpcm show CASE RECORD` gives it (its answers with the form's labels in
    `lang`), after the child as the case now stands and its next review date (the review
    clock, as `cpcm due` has it)."""
    from cpcm.render import env, views
    from cpcm.service.cases import record_view, sibling_group

    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    left_out = misfiled_out(records)  # written in the wrong case: not this child's file
    entries = [record_view(ctx, case_id, records, record, lang) for record in records if record.id not in left_out]
    view = views.case_file_view(
        case, entries, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        services=_service_names(ctx), agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name},
        next_review=_next_review(ctx, case), choices=form_choice_words(ctx, {e.get("form") for e in entries}, lang),
        siblings=sibling_group(ctx, case_id, effective(records)),
        keyworker=keyworker_rules.current(effective(records), case.worker, off_team(ctx.team)),
        overridden=_overridden(ctx, records), zone=ctx.zone,
    )
    return env.render(views.CASE_FILE, lang, fmt, view, ctx.root)


def _overridden(ctx: Context, records) -> dict[str, tuple[str, str | None]]:
    """The consents refused, not possible or not informed that a supervisor's override stands in for, as `cpcm show`
    lists them (service/cases.py `consents_on_file`): consent record id -> (the override's record id,
    who recorded it)."""
    from cpcm.service.cases import consents_on_file
    from cpcm.workflow import consent as consent_rules

    return {c["record_id"]: (c["overridden_by"], c["overridden_by_worker"])
            for c in consents_on_file(effective(records), ctx.now, consent_rules.used_ids(records), ctx.policy) if c["overridden_by"]}


CHILD_FILE = "child-file"


def child_file(ctx: Context, case_id: str, lang: str, fmt: str, leave_out: Sequence[str] = (), given_to: str | None = None):
    """The child's own case file: the case file (`case_file`) without the records and fields
    about other people (workflow/child_file.py) and without the records in `leave_out`. Returns
    (the text, the workflow's Screened: what was kept, left out and is free text to read)."""
    from cpcm.render import env, views
    from cpcm.service.cases import record_view
    from cpcm.workflow import child_file as rules

    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    known = {r.id for r in records}
    wanted = [str(r or "").strip().upper() for r in leave_out]
    errors = [FieldError("--leave-out", f"value {n} is not a record ID of {case_id}: cpcm log {case_id} lists them")
              for n, r in enumerate(wanted, start=1) if r not in known]
    if errors:
        raise InvalidInput(errors, f"the child's file of {case_id}")
    left_out = misfiled_out(records)  # written in the wrong case: not this child's file
    entries = [_typed_answers(ctx, record_view(ctx, case_id, records, record, lang)) for record in records
               if record.id not in left_out]
    screened = rules.screen(entries, wanted)
    view = views.child_file_view(
        case, screened.kept, lang, today=ctx.now.date(), names={w.id: w.name for w in ctx.team.workers},
        services=_service_names(ctx), agency={"code": ctx.config.agency_code, "name": ctx.config.agency_name},
        next_review=_next_review(ctx, case), choices=form_choice_words(ctx, {e.get("form") for e in screened.kept}, lang),
        left_out=screened.summary(), given_to=given_to, zone=ctx.zone,
    )
    return env.render(CHILD_FILE, lang, fmt, view, ctx.root), screened


def _typed_answers(ctx: Context, entry: dict) -> dict:
    """A record's readable form with each answer marked `typed` where its form says the field is
    free text (`forms.FREE_TEXT`: text, longtext, a list of texts, in a repeat too; not a choice,
    a date, an ID, a duration or a list of codes): what the worker must read before the child's
    file is given. A field no form describes is left to the workflow's reading of its value."""
    from cpcm.domain.forms import FREE_TEXT
    from cpcm.store import forms as forms_store

    try:
        form = forms_store.load(entry["form"], ctx.root) if entry.get("form") else None
    except (OSError, ValueError, NotFound):
        form = None
    if form is None:
        return entry

    def typed(spec, value) -> bool:
        if spec.item and isinstance(value, list):
            subs = {sub.key: sub for sub in spec.item}
            return any(subs[a["field"]].type in FREE_TEXT if a.get("field") in subs else False
                       for item in value if isinstance(item, list) for a in item if isinstance(a, dict) and a.get("value"))
        return spec.type in FREE_TEXT

    answers = []
    for answer in entry.get("answers") or []:
        spec = form.field(str(answer.get("field") or ""))
        answers.append(dict(answer, typed=typed(spec, answer.get("value"))) if spec is not None else answer)
    return dict(entry, answers=answers)


def screening_of(screened) -> dict:
    """What the worker is shown before giving the child's file (and `--json` prints): the
    sections left out with their counts, the records left out (ID, kind, section), and the kept
    records with free text (ID, kind, the fields' labels), never any value."""
    return {"left_out": screened.summary(), "left_out_records": list(screened.left_out_records),
            "free_text": list(screened.free_text), "records": len(screened.kept)}


@writes
def give_child_file(ctx: Context, subject: str, lang: str | None, fmt: str, destination: str, leave_out: Sequence[str],
                    given_to: str, write: Callable[[str], Path | None] | None) -> Document:
    """Give the child's own file: the worker has screened it (the listing of `render`). Where
    the policy's `child_file.release_by_supervisor` is on, only an active supervisor or manager
    gives it. The text goes through `write` (None: the caller prints it), then the case records
    the release (kind child_file_release: who screened it, to whom, when, what was left out by
    section and by record ID, never the content), one commit; the file written is removed again
    when the record cannot be."""
    from cpcm.workflow import child_file as rules

    from cpcm.service.wording import option_code

    case_id = parse_case_id(subject)
    # who receives it: a code, or its words in the repository's language ("mwakilishi wa mtoto" in Kiswahili)
    given, why = option_code(ctx, "given_to", (given_to or "").strip(), rules.GIVEN_TO)
    if why is not None:
        raise InvalidInput([FieldError("--given-to", why)], f"the child's file of {case_id}")
    worker = ctx.need_worker()
    if ctx.policy.get("child_file", "release_by_supervisor", True) and not approvals.approves(worker):
        raise Refused(f"only a supervisor or manager gives a child their own file (policy child_file.release_by_supervisor; "
                      f"{ctx.policy.short_source('child_file', 'release_by_supervisor')})",
                      f"Screen it with cpcm render child-file {case_id} and ask a supervisor or manager to give it: "
                      f"cpcm render child-file {case_id} --given-to {given} ... (nothing was written)",
                      rule="child-file-needs-supervisor")
    warnings: list[str] = []
    lang = _language(ctx, CHILD_FILE, lang, fmt, warnings)
    text, screened = child_file(ctx, case_id, lang, fmt, leave_out, given)
    if not text.endswith("\n"):
        text += "\n"
    case = fold(case_id, load_records(ctx, case_id))
    summary = screened.summary()
    body = {"given_to": given, "records": len(screened.kept), "left_out": list(summary),
            "left_out_records": sum(n["records"] for n in summary.values()),
            "left_out_fields": sum(n["fields"] for n in summary.values()),
            "screened_out": [r["record_id"] for r in screened.left_out_records if r["section"] == "screened"],
            "free_text_records": len(screened.free_text), "destination": destination, "lang": lang, "format": fmt}
    path = write(text) if write is not None else None
    try:
        record = append(ctx, case, "child-file", rules.KIND, body, None)
    except BaseException:
        if path is not None:
            Path(path).unlink(missing_ok=True)
        raise
    return Document(CHILD_FILE, case_id, lang, fmt, text, None, tuple(warnings), screening=screening_of(screened), release=record.id)


def form_choice_words(ctx: Context, names, lang: str) -> dict:
    """{form: {field: {value: words}}} for the forms of a case's records whose choices the form
    names in words (the kenya registration's national case categories), in `lang`."""
    from cpcm.render import views
    from cpcm.store import forms

    out = {}
    for name in sorted(n for n in names if n):
        labels = forms.choice_labels(name, ctx.root)
        form = forms.load(name, ctx.root) if labels or name in _policy_list_forms(ctx) else None
        if form is None:
            continue
        field_lists = {f.key: list_name for f in form.fields for list_name, values in form.lists.items()
                       if list_name in labels and tuple(values) == f.choices}
        words = views.choice_words(labels, forms.codes(name, ctx.root), field_lists, lang) if labels else {}
        for field in form.fields:  # the eligibility criteria: the policy's words (rules.eligibility.criteria)
            if field.policy_list == "eligibility":
                words[field.key] = ctx.policy.criterion_labels(lang)
        if words:
            out[name] = words
    return out


def _policy_list_forms(ctx: Context) -> tuple[str, ...]:
    """The forms whose choices come from the policy (the registration's eligibility criteria)."""
    return (form_for(ctx, "registration"),)


def _next_review(ctx: Context, case, now=None) -> str | None:
    """The date of the case's next review: the review clock's item (workflow/clocks.py), as
    `cpcm due` lists it (`cpcm due` of one case: the case's deadlines at `now`, by default the
    command's); None when no review clock runs."""
    from cpcm.workflow.deadlines import deadlines

    review = next((item for item in deadlines(case, ctx.policy, now or ctx.now) if item.code == "review"), None)
    return review.due.date().isoformat() if review else None


def _review_when_left(ctx: Context, case, records) -> str | None:
    """The next review a transfer summary gives: while the case is open here, `_next_review`;
    once it has left, the one `cpcm due` had at the moment it left (the case the records before
    the latest transfer make, its clock read at the transfer's time). No review clock runs for
    a case that is not open, and the plan's own date is stale once a later review moved the next
    one: the receiving agency is told the date the case was due for when it left."""
    from cpcm.domain.dates import local

    if case.status != "transferred":
        return _next_review(ctx, case)
    sent = max((r for r in records if r.kind == "transfer"), key=lambda r: r.id, default=None)
    if sent is None:
        return None
    return _next_review(ctx, fold(case.id, [r for r in records if r.id < sent.id]), local(sent.at, ctx.zone))


def _service_names(ctx: Context) -> dict[str, str]:
    """Service id -> provider name, from the service directory (for referrals and transfers)."""
    return {str(s.get("id")): str(s.get("provider") or "") for s in directory.load(ctx.store) if s.get("id")}
