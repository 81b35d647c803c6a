"""Reintegration readiness: cpcm readiness (the DCS Form 7A benchmarks as their own record), and
the latest readiness of a case that show, the review and the closure read.

A readiness record changes no stage and restarts no clock: it is neither an assessment nor a
review, and may be recorded at either (docs/kenya-readiness.md). Answers recorded the old way,
inside a comprehensive assessment of the kenya profile, are still read for the score.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from cpcm.domain.records import Record
from cpcm.errors import Corrupt
from cpcm.service.context import Context, append, check_step, check_writable, form_for, load_case, validate_form, writes
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.workflow import readiness as rules
from cpcm.workflow.fold import effective
from cpcm.workflow.placements import in_residential_care

KIND = "readiness"
GRADUATION = "graduation"  # household graduation (the CPARA): scored benchmarks that count for no closure rule


def scoring(ctx: Context, name: str | None = None) -> dict:
    """The scoring data of a readiness form (pass marks, closure rule, stops): the one named
    (`cpcm readiness --form`, e.g. readiness-8a, the young-person review), else the one the
    policy names."""
    name = name or form_for(ctx, KIND)
    data = forms.scoring(name, ctx.root)
    problems = rules.check_scoring(data) if data is not None else ["the form has no scoring section"]
    if problems:
        raise Corrupt(f"form definition {name}: scoring: {'; '.join(problems)}", name)
    return data


def readiness_form(ctx: Context, form: str | None = None) -> str:
    """The readiness form to record on: `form` when it is one (exit 2 otherwise, naming them),
    else the one the policy names."""
    if form is None:
        return form_for(ctx, KIND)
    from cpcm.errors import UsageError
    from cpcm.service import csi

    choices = readiness_forms(ctx)
    if csi.offered(ctx) and csi.offered(ctx) not in choices:  # the kenya profile's Child Status Index
        choices.append(str(csi.offered(ctx)))
    if form not in choices:
        raise UsageError("--form names a readiness form", f"Readiness forms: {', '.join(choices)}.")
    return form


def recorded(records: Iterable[Record]) -> bool:
    """Whether a case holds readiness answers at all (cheap: no scoring, no form loaded)."""
    return any(r.kind == KIND or (r.kind == "assessment" and r.body.get("readiness")) for r in records)


def latest(ctx: Context, records: Iterable[Record]) -> rules.Latest | None:
    """The case's latest readiness record, scored (a readiness record, or a comprehensive
    assessment holding the answers the old way); None when there is none it can score. A record
    made on another readiness form (Form 8A, the young person's) is scored with that form's
    pass marks, found by the benchmark version it records. `records`: all of the case's or those
    in force; a correction is read in the place of what it corrected (at the time it gives)."""
    data = scoring(ctx)
    records = effective(records)
    versions = {str(r.body.get("version") or "") for r in records if r.kind == KIND} - {"", str(data.get("version") or "")}
    if not versions:
        return latest_of(data, records)
    tables = {str(data.get("version") or ""): data}
    for name in readiness_forms(ctx):
        other = forms.scoring(name, ctx.root) or {}
        tables.setdefault(str(other.get("version") or ""), other)
    return latest_of(data, records, tables)


def readiness_forms(ctx: Context) -> list[str]:
    """The readiness forms there are (Form 7A, the young person's Form 8A, an agency's own): the
    forms of kind readiness with a scoring section; and the household graduation form the
    policy names (`forms.graduation`: the kenya profile's CPARA), whose records are of kind
    graduation."""
    found = []
    offered = ctx.policy.get("forms", GRADUATION)
    for name in forms.available(ctx.root):
        try:
            kind = forms.load(name, ctx.root).kind
            if (kind == KIND or (kind == GRADUATION and name == offered)) and forms.scoring(name, ctx.root):
                found.append(name)
        except (Corrupt, ValueError):
            continue
    return found


def form_of(ctx: Context, record: Record) -> str | None:
    """The readiness or graduation form `record` was made on: the one whose scoring records the
    version the record holds (Form 8A's `afc_8a_v1`, say); None when none does."""
    version = str(record.body.get("version") or "")
    if not version:
        return None
    if record.kind == GRADUATION:  # any the repository has, as `show CASE` scores it (latest_graduation)
        return (graduation_tables(ctx).get(version) or (None,))[0]
    for name in readiness_forms(ctx):
        if str((forms.scoring(name, ctx.root) or {}).get("version") or "") == version:
            return name
    return None


def latest_of(data: Mapping[str, Any], records: Iterable[Record],
              tables: Mapping[str, Mapping[str, Any]] | None = None) -> rules.Latest | None:
    """The latest record scored with `data`, or with the scoring of `tables` (version -> scoring)
    its recorded version names."""
    found = None
    for record in sorted(records, key=lambda r: (r.at, r.id)):
        legacy = record.kind == "assessment" and bool(record.body.get("readiness"))
        if record.kind != KIND and not legacy:
            continue
        table = data
        if tables and not legacy:
            table = tables.get(str(record.body.get("version") or ""), data)
        try:
            result = rules.score(table, record.body, legacy=legacy)
        except ValueError:  # another version of the benchmarks, or answers this scoring does not know
            continue
        if not result.answered:  # a comment alone (after a case conference) scores nothing: the scored record before it stands
            continue
        found = rules.Latest(record.id, record.at, record.kind, result, rules.stops(table, record.body, legacy=legacy))
    return found


@writes
def readiness(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None,
              form: str | None = None) -> Written:
    """Record the readiness benchmarks (Form 7A, or the form named: readiness-8a, the young
    person's Form 8A): the score per domain against its pass mark, whether the closure rule is
    met, and what to do now for an answer the form marks as a stop."""
    case = check_readiness(ctx, case_id, at, form)
    name = readiness_form(ctx, form)
    from cpcm.service import csi

    if record_kind(ctx, name, form) == csi.KIND:  # the Child Status Index: ratings, no score
        return csi.record(ctx, case, name, data, at)
    table = scoring(ctx, name)
    if rules.counts_benchmarks(table):
        return _graduation(ctx, case, name, table, data, at)
    body = validate_form(ctx, name, data, f"readiness of {case_id}")
    body.setdefault("version", str(table.get("version") or ""))
    result = rules.score(table, body)
    if not result.answered:  # the comment on readiness after a case conference, alone (the form allows it only then)
        record = append(ctx, case, "readiness", KIND, body, at)
        steps = ("the comment on the child's readiness is recorded; no benchmark was answered, so it scores nothing and "
                 "the latest scored readiness record stands for closure",)
        return Written(case_id, record.id, KIND, (), steps, extra={"readiness": None, "comment": True})
    found = _stopped(table, body)
    record = append(ctx, case, "readiness", KIND, body, at)
    lang = ctx.config.language or "en"
    warnings = _stop_warnings(found, lang)
    steps = [s.text(s.action, lang).replace("CASE", case_id) for s in found]
    if found:
        steps.append("the stop is an urgent item on cpcm due until a crisis follow-up (or a readiness record without a stop answer)")
    if result.ready_for_closure:
        steps.append(f"the closure rule is met: {result.domains_passed} of {len(result.domains)} domains pass, "
                     "the required ones among them")
        if in_residential_care(case, ctx.policy):  # Form 7A reviews a child back in family care: closing now would leave them in the CCI
            steps.append("the child is still in residential care: the benchmarks are for closing a reintegration once the "
                         f"child lives in family or community care, so the move out comes first (cpcm placement {case_id} "
                         "--care-type ... --cci-exit ...), and the benchmarks are recorded again after it")
    else:
        steps.append("not ready for closure: " + "; ".join(result.reasons))
    latest_record = rules.Latest(record.id, record.at, KIND, result, found)
    return Written(case_id, record.id, KIND, tuple(warnings), tuple(steps), extra={"readiness": latest_record.to_json()})


def record_kind(ctx: Context, name: str, form: str | None = None) -> str:
    """The kind of record `readiness` makes on the form `name` (`form`: as --form gave it): a
    Child Status Index (csi), a household graduation (the CPARA) or a readiness record."""
    from cpcm.service import csi

    if form is not None and name == csi.offered(ctx):
        return csi.KIND
    return GRADUATION if rules.counts_benchmarks(scoring(ctx, name)) else KIND


def check_readiness(ctx: Context, case_id: str, at: datetime | None = None, form: str | None = None):
    """The case, once a record of the readiness form `form` may be written to it whatever its
    answers (`check_writable`: readable, its stage allows it, --at, a cover not ended); NotFound,
    Refused or InvalidInput (--at) otherwise. `readiness` checks it, and `cpcm readiness` before
    its questions, so a refusal comes before anything is typed."""
    return check_writable(ctx, case_id, record_kind(ctx, readiness_form(ctx, form), form), {}, at)


def _stopped(table: Mapping[str, Any], body: dict) -> tuple:
    """The answers of `body` its form marks as a stop, kept on it as `stops`: what the worker was
    told to act on (the fold's readiness-stop clock); none, no `stops`."""
    found = rules.stops(table, body)
    body.pop("stops", None)
    if found:
        body["stops"] = [s.item for s in found]
    return found


def _stop_warnings(found: Iterable, lang: str) -> list[str]:
    return [f"stop ({s.item}): {s.text(s.says, lang)}" for s in found]


def corrected(ctx: Context, original: Record, name: str, base: Mapping[str, Any], given: Mapping[str, Any], body: dict,
              at: datetime | None) -> tuple[dict, list[str]]:
    """A readiness, graduation or CSI record's corrected fields (`body`; `base`, the original's;
    `given`, the fields the correction gives; `at`, the time it gives) made up as its command makes
    them (`name`, the form it was made on): the benchmark version kept (the command's, never left
    out); a readiness record's stops found again in its corrected answers (with their warnings); a
    CSI's date, left empty, the day the corrected record happened, and, where the command had filled
    it in (the day it was recorded) and the correction moves its time without giving a date, that day."""
    if original.kind in (KIND, GRADUATION) and base.get("version") and not body.get("version"):
        body["version"] = base["version"]
    when = at or datetime.fromisoformat(original.at)
    if original.kind == "csi":
        from cpcm.service import csi

        if at is not None and "date" not in given and base.get("date") == csi.dated(ctx, {}, datetime.fromisoformat(original.at))["date"]:
            body.pop("date", None)  # the command's day, moved with the time
        return csi.dated(ctx, body, when), []
    if original.kind == GRADUATION:
        return body, []
    found = _stopped(scoring(ctx, name), body)
    return body, _stop_warnings(found, ctx.config.language or "en")


def _graduation(ctx: Context, case, name: str, table: Mapping[str, Any], data: Mapping[str, Any],
                at: datetime | None) -> Written:
    """Record a household graduation assessment (the CPARA): a record of kind graduation holding
    the answers and the version they follow; the score and its band are worked out from them."""
    body = validate_form(ctx, name, data, f"{name} of {case.id}")
    body.setdefault("version", str(table.get("version") or ""))
    result = rules.graduation(table, body)
    record = append(ctx, case, GRADUATION, GRADUATION, body, at)
    steps = [graduation_words(result)]
    if result.not_achieved:
        steps.append("benchmarks not achieved: " + "; ".join(f"{b.number} {b.name()}" for b in result.not_achieved))
    scored = {"record_id": record.id, "at": record.at, "form": name, **result.to_json()}
    return Written(case.id, record.id, GRADUATION, (), tuple(steps), extra={"graduation": scored})


def graduation_words(result: rules.Graduation) -> str:
    """The score and its band in a few words (no one's details)."""
    return f"{result.score} of {result.maximum} benchmarks achieved: {result.band_name().lower()}"


def graduation_tables(ctx: Context) -> dict[str, tuple[str, dict]]:
    """The household graduation forms there are, by the version they score: version -> (form
    name, scoring data)."""
    tables: dict[str, tuple[str, dict]] = {}
    for name in forms.available(ctx.root):
        try:
            if forms.load(name, ctx.root).kind == GRADUATION:
                data = forms.scoring(name, ctx.root)
                if data and not rules.check_scoring(data) and rules.counts_benchmarks(data):
                    tables.setdefault(str(data.get("version") or ""), (name, data))
        except (Corrupt, ValueError):
            continue
    return tables


def latest_graduation(ctx: Context, records: Iterable[Record],
                      tables: Mapping[str, tuple[str, dict]] | None = None) -> dict | None:
    """The case's latest household graduation record (the CPARA), scored with the form of the
    version it records, as JSON with its date; None when there is none it can score. `tables`:
    graduation_tables, when read already."""
    tables = graduation_tables(ctx) if tables is None else tables
    for record in sorted((r for r in records if r.kind == GRADUATION), key=lambda r: (r.at, r.id), reverse=True):
        found = tables.get(str(record.body.get("version") or ""))
        if found is None:
            continue
        try:
            result = rules.graduation(found[1], record.body)
        except ValueError:
            continue
        return {"record_id": record.id, "at": record.at, "form": found[0], **result.to_json()}
    return None


def graduation_line(scored: Mapping[str, Any]) -> str:
    """One line for a worker: the date, the form, the score and band, the benchmarks not achieved."""
    line = (f"{str(scored['at'])[:10]} ({scored.get('form')}, {scored.get('version')}): {scored['score']} of "
            f"{scored['maximum']} benchmarks achieved: {str(scored['band_label']).lower()}")
    missing = [b for b in scored.get("benchmarks") or () if not b.get("achieved")]
    if missing:
        line += "; not achieved: " + "; ".join(f"{b['number']} {b['title']}" for b in missing)
    return line + f" ({scored['record_id']})"


def words(summary: Mapping[str, Any] | None) -> str:
    """One line for a worker: the date, the score per domain against its pass mark, the verdict."""
    if not summary:
        return "no readiness record"
    scores = ", ".join(f"{d['domain']} {d['score']}/{d['maximum']}" + ("" if d["passed"] else f" (pass {d['pass_mark']})")
                       for d in summary["domains"])
    verdict = "ready for closure" if summary["ready_for_closure"] else "not ready for closure"
    if summary.get("reunified_at"):  # `cpcm show`: made while the child was in care (readiness.made_before)
        verdict += (f"; made before the child went home ({str(summary['reunified_at'])[:10]}), so it does not count "
                    "for closure: record it again")
    elif summary.get("reopened_at"):  # made before the case was reopened: the closure gate counts it no more either
        verdict += (f"; made before the case was reopened ({str(summary['reopened_at'])[:10]}), so it does not count "
                    "for closure: record it again")
    return f"{str(summary['at'])[:10]}: {scores}: {verdict}"


# -- the steps of reintegration: tracing, family assessment, preparation ---------------------------
# (ESARO Box 2, the CTWWC brief; the placement decision is the best-interests assessment, the
# reunification a placement: cpcm.service.placements; the monitoring, follow-ups)
STEP_KINDS = {"tracing": "family tracing", "family_assessment": "family assessment", "preparation": "preparation"}


def _step(ctx: Context, case_id: str, kind: str, data: Mapping[str, Any], at: datetime | None) -> Written:
    from cpcm.workflow import placements as path_rules

    case = load_case(ctx, case_id)
    check_step(ctx, case, kind)  # the stage before the form: no field makes a step allowed
    body = validate_form(ctx, form_for(ctx, kind), data, f"{STEP_KINDS[kind]} of {case_id}")
    record = append(ctx, case, kind.replace("_", "-"), kind, body, at)
    after = load_case(ctx, case_id)
    path = path_rules.pathway(after, ctx.policy, ctx.now)
    steps = []
    if kind == "tracing" and body.get("outcome") == "not_found":
        steps.append("no family found: consider family-based alternative care (kinship, foster care, guardianship) in the "
                     f"best-interests assessment: cpcm assess {case_id} --type best-interests")
    steps += path_next(path, case_id)
    return Written(case_id, record.id, kind, next_steps=tuple(steps), extra={"pathway": path})


def path_next(path: Mapping[str, Any] | None, case_id: str) -> list[str]:
    """The next step of the path of reintegration (placements.pathway), as a next: line."""
    if not path or not path["next"]:
        return []
    return [f"next on the path of reintegration: {path['next']['title']}: {path['next']['command'].replace('CASE', case_id)}"]


@writes
def tracing(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record family tracing: who was traced, from what, and the outcome (family found, not found
    with the proof of no trace, ongoing)."""
    return _step(ctx, case_id, "tracing", data, at)


@writes
def family_assessment(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a family assessment: the caregiving capacity and the family and environmental
    factors (ESARO), each rated, the family's willingness, the child's views, the recommendation."""
    return _step(ctx, case_id, "family_assessment", data, at)


@writes
def preparation(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a session preparing the child, the family or the community for reintegration."""
    return _step(ctx, case_id, "preparation", data, at)
