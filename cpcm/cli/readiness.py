"""cpcm readiness: the reintegration readiness benchmarks (DCS Form 7A) as their own record."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             print_table, report_written, stdin_is_terminal, written)


def register(app: typer.Typer) -> None:
    @app.command("readiness")
    def readiness(
        case: str = typer.Argument(..., help="Case ID."),
        occasion: Optional[str] = typer.Option(None, "--occasion", help="review, followup, case_conference or other: when it was done."),
        consulted: List[str] = typer.Option([], "--consulted", help="Who took part (repeat): child, caregiver, other_family, school, ..."),
        notes: Optional[str] = typer.Option(None, "--notes"),
        form: Optional[str] = typer.Option(None, "--form", help="The readiness form: readiness-8a for a young person in supported "
                                                                "independent living or a child-headed household (DCS Form 8A); "
                                                                "cpara for household graduation in an OVC programme (kenya "
                                                                "profile: CPARA version 2, 9 benchmarks); "
                                                                "csi for the Child Status Index (kenya profile: 13 items "
                                                                "rated 1-4); "
                                                                "default the profile's (Form 7A).", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record the reintegration readiness benchmarks (Form 7A); prints the score per domain and
        whether the closure rule is met. With --form cpara: the household graduation benchmarks
        (CPARA), printed as the benchmarks achieved of 9 and the band. With --form csi: the Child
        Status Index, 13 items each rated 1 (very bad) to 4 (good), printed with the items that need
        attention (rated 1 or 2) and the change since the previous CSI; no total is made of the
        ratings. It changes no stage and restarts no clock.

        Example: cpcm form blank readiness > form7a.yaml; cpcm readiness CP-4F7K-9X2N --from-file form7a.yaml
        Example: cpcm readiness CP-4F7K-9X2N --occasion review   (on a terminal: asks domain by domain)
        Example: cpcm form blank readiness-8a > form8a.yaml; cpcm readiness CP-4F7K-9X2N --form readiness-8a --from-file form8a.yaml
        Example: cpcm form blank cpara > cpara.yaml; cpcm readiness CP-4F7K-9X2N --form cpara --from-file cpara.yaml
        Example: cpcm form blank csi > csi.yaml; cpcm readiness CP-4F7K-9X2N --form csi --from-file csi.yaml
        """
        from cpcm import service
        from cpcm.service import reintegration

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        name = reintegration.readiness_form(ctx, form.strip().lower() if form else None)
        flags = {"occasion": Opt("--occasion", occasion), "consulted": Opt("--consulted", list(consulted) or None), "notes": Opt("--notes", notes)}
        when = parse_at(at)
        guided = not no_input and not from_file and stdin_is_terminal()
        if guided:  # refused whatever the answers (no such case, its stage, --at): said before the questions
            reintegration.check_readiness(ctx, case_id, when, name)
        data = gather(ctx, name, from_file, set_, flags, True, hint=not guided)  # its own questions below
        again = None
        if guided:
            from cpcm.domain import text
            from cpcm.errors import UsageError

            try:
                data = _guided(ctx, data, name)
            except UnicodeDecodeError:
                raise UsageError("an answer typed is not valid UTF-8 text", text.UTF8_HINT) from None
            text.check_data(data, "the input", controls=True)
            again = _asked(ctx, name)
        result = written(ctx, data, lambda answers: reintegration.readiness(ctx, case_id, answers, when, form=name), again)
        if not json_out and "csi" in result.extra:
            print_csi(result.extra["csi"])
        elif not json_out and "graduation" in result.extra:
            _print_graduation(result.extra["graduation"])
        elif not json_out and result.extra.get("readiness"):  # None: a comment alone, after a case conference
            _print_score(result.extra["readiness"])
        what = "Child Status Index" if "csi" in result.extra else "household graduation" if "graduation" in result.extra else "readiness"
        report_written(result, json_out, f"{what} recorded for {case_id}")


def _print_score(ready: dict) -> None:
    rows = [[d["label"], f"{d['score']}/{d['maximum']}", d["pass_mark"], "pass" if d["passed"] else "below",
             "yes" if d["required_for_closure"] else "", f"{d['answered']}/{d['items']}"] for d in ready["domains"]]
    verdict = "ready for closure" if ready["ready_for_closure"] else "not ready for closure"
    print_table(["domain", "score", "pass mark", "result", "required", "answered"], rows,
                title=f"Readiness {ready['at'][:10]}: {ready['domains_passed']} of {len(ready['domains'])} domains pass: {verdict}")


def _print_graduation(scored: dict) -> None:
    """The benchmarks of a household graduation record (the CPARA), each achieved or not, under
    the score and its band."""
    rows = [[b["number"], b["domain"], b["title"], "achieved" if b["achieved"] else "not achieved",
             "gate answered no" if b["gate"] else ""] for b in scored["benchmarks"]]
    print_table(["#", "domain", "benchmark", "result", "why"], rows,
                title=f"{scored['form']} {scored['at'][:10]}: {scored['score']} of {scored['maximum']} benchmarks achieved: "
                      f"{scored['band_label']}")


def print_csi(summary: dict) -> None:
    """The ratings of a Child Status Index, item by item, with the change since the previous CSI
    (up, down, same) and the items that need attention (rated 1 or 2): no total (the form has none)."""
    changes = {c["key"]: c for c in summary.get("changes") or ()}
    attention = {r["key"] for r in summary.get("needs_attention") or ()}
    rows = [[r["code"], r["label"], "-" if r["rating"] is None else f"{r['rating']} {r['rating_label']}",
             (changes.get(r["key"]) or {}).get("change") or "", "needs attention" if r["key"] in attention else ""]
            for r in summary["ratings"]]
    since = f", change since {str(summary['previous']['at'])[:10]}" if summary.get("previous") else ""
    print_table(["code", "item", "rating", "change", ""], rows,
                title=f"Child Status Index {str(summary.get('date') or summary['at'])[:10]}{since}")


def _questions(ctx, name: str):
    """(the form, its wording, its scoring for a form asked domain by domain or None, the form of
    the questions `fill` asks): what `_guided` asks from, and asks again from."""
    from dataclasses import replace

    from cpcm.service import reintegration
    from cpcm.service.wording import wording
    from cpcm.store import forms
    from cpcm.workflow import readiness as rules

    form = forms.load(name, ctx.root)
    words = wording(ctx, form)
    if form.kind == "csi":  # the Child Status Index: each item's rating in the form's order, then the grids
        return form, words, None, form
    table = reintegration.scoring(ctx, name)
    if rules.counts_benchmarks(table):  # the CPARA: its questions in the form's order, a gate answered no skipping its own
        return form, words, None, replace(form, fields=tuple(f for f in form.fields if f.key != "version"))
    items = {".".join(p for p in (str(table.get("prefix") or ""), domain["key"], item) if p)
             for domain in table["domains"] for bench in domain["benchmarks"] for item in bench["items"]}
    return form, words, table, replace(form, fields=tuple(f for f in form.fields if f.key not in items and f.key != "version"))


def _guided(ctx, data: dict, name: str) -> dict:
    """Domain by domain on a terminal: review it now or leave it; each item yes, no or na; a stop
    answer says at once what it means; the domain's score against its pass mark after each; then
    the other fields of the form."""
    from cpcm.cli.prompts import DOMAINS_INTRO, fill

    lang = ctx.config.language or "en"
    form, words, table, rest = _questions(ctx, name)
    out = dict(data)
    if table is not None:
        typer.echo(words.say(DOMAINS_INTRO) % {"title": form.title.get(lang) or form.kind}, err=True)
        out = _domains(ctx, form, words, table, out)
    return fill(rest, out, ctx.now.date(), [w.id for w in ctx.team.active], lang, wording=words)


def _domains(ctx, form, words, table: dict, data: dict) -> dict:
    """The answers `data` with the domains of the scoring `table` asked, each not answered whole
    yet: one left out is offered (review it now or leave it), the items one answered in part
    lacks are asked; each item yes, no or na; a stop answer says at once what it means; the
    domain's score against its pass mark after each."""
    from cpcm.cli.prompts import (DOMAIN_BELOW, DOMAIN_PASSED, DOMAIN_SCORE, DOMAIN_STOP, DOMAIN_WHOLE, REVIEW_DOMAIN, choices_shown,
                                  confirmed, typed)
    from cpcm.domain.forms import coerce
    from cpcm.domain.records import flatten, set_path
    from cpcm.workflow import readiness as rules

    lang = ctx.config.language or "en"
    prefix = str(table.get("prefix") or "")
    stops = {str(s["item"]): s for s in table.get("stops") or ()}
    given = flatten(data)
    out = dict(data)
    for domain in table["domains"]:
        name = domain.get("label", {}).get(lang) or domain.get("label", {}).get("en") or domain["key"]
        keys = [(f"{domain['key']}.{item}", ".".join(p for p in (prefix, domain["key"], item) if p))
                for bench in domain["benchmarks"] for item in bench["items"]]
        missing = [(item, path) for item, path in keys if given.get(path) in (None, "")]
        if not missing:
            continue
        if len(missing) == len(keys) and not confirmed(  # yes or no in the worker's language (ndiyo, hapana)
                words.say(REVIEW_DOMAIN) % {"domain": name, "items": len(keys), "mark": domain["pass_mark"]}, True, words):
            continue
        for item, path in missing:
            field = form.field(path)
            label = field.text(field.label, lang) if field else path
            while True:
                shown = choices_shown(field, words) if field else " [yes, no, na]"  # the choices in the worker's language
                answer = typed(f"  {label}{shown}", words)  # Enter: said why
                value, reason = (None, None) if not answer.strip() else \
                    coerce(field, answer, ctx.now.date(), wording=words) if field else (answer.strip(), None)
                if reason or value in (None, ""):
                    typer.echo(f"  {reason or words.say(DOMAIN_WHOLE)}", err=True)
                    continue
                break
            set_path(out, path, value)
            stop = stops.get(item)
            if stop and str(value).lower() in [str(a).lower() for a in stop.get("answers") or ()]:
                says = stop.get("says", {}).get(lang) or stop.get("says", {}).get("en")
                action = stop.get("action", {}).get(lang) or stop["action"]["en"]
                typer.secho("  " + words.say(DOMAIN_STOP) % {"says": says, "action": action}, err=True, fg="red")
        scored = rules.score(table, out).domain(domain["key"])
        typer.echo("  " + words.say(DOMAIN_SCORE) % {"domain": name, "score": scored.score, "maximum": scored.maximum,
                                                      "mark": scored.pass_mark,
                                                      "result": words.say(DOMAIN_PASSED if scored.passed else DOMAIN_BELOW)}, err=True)
    return out


def _asked(ctx, name: str):
    """After `_guided`: `ctx.asked` set to the questions `fill` asked, for `written` to ask again
    the fields a refusal names; and, for a form asked domain by domain, how a refusal of the
    benchmarks ("answer at least one domain") is asked again: the domains not answered whole
    offered again, then the other fields it names, every other answer kept. None for the others
    (their refused fields are asked again from `ctx.asked`)."""
    from cpcm.cli.prompts import AGAIN, ask_again, fill, without

    form, words, table, rest = _questions(ctx, name)
    ctx.asked = (rest, None, words)
    if table is None:
        return None
    lang = ctx.config.language or "en"
    prefix = str(table.get("prefix") or "")
    roots = {prefix} if prefix else {str(d["key"]) for d in table["domains"]}  # where the items are: benchmarks.education...

    def again(data: dict, exc) -> dict | None:
        keys = [e.field for e in exc.errors]
        domains = [k for k in keys if k.split(".")[0] in roots]
        if not domains:  # each field named asked as a required one, saying why (notes at a case conference, no domain)
            reasons = {e.field: e.reason for e in exc.errors}
            return ask_again(rest, data, exc, ctx.now.date(), [w.id for w in ctx.team.active], lang,
                             needed=lambda key, _answers: reasons.get(key), wording=words)
        others = [k for k in keys if k not in domains]
        if any(rest.field(k) is None for k in others):
            return None
        typer.echo(exc.said(words.say), err=True)
        typer.echo(words.say(AGAIN), err=True)
        out = _domains(ctx, form, words, table, without(data, keys))
        if others:  # only those asked: every other field is given (or was left empty) already
            from dataclasses import replace

            out = fill(replace(rest, fields=tuple(f for f in rest.fields if f.key in others)), out, ctx.now.date(),
                       [w.id for w in ctx.team.active], lang, wording=words)
        return out
    return again
