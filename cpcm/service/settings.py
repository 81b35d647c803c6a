"""The agency's settings, put in place by a supervisor or manager, each change one signed commit
(what `cpcm verify` expects of them; a file committed by hand with git is reported as unsigned):

- `policy_set`: the rules' override, `.cpcm/policy.yaml` (`cpcm policy set`);
- `form_set`: an agency's own form, `.cpcm/forms/<kind>.yaml` (`cpcm form set`);
- `config_set`: a setting of `.cpcm/config.yaml` (`cpcm config set`).

Each is checked first, as the commands that read it will read it, and nothing is written when it
is wrong or already in place (committed). The file the last commit holds puts back a copy
changed by hand since, with no commit: anyone may do that (`_committed`).
"""
from __future__ import annotations

from dataclasses import replace

from cpcm import clock
from cpcm.domain.team import OVERSIGHT
from cpcm.errors import Corrupt, FieldError, InvalidInput, Refused, UsageError
from cpcm.service.context import Context, transaction, writes
from cpcm.store.config import CONFIG_KEYS, config_bytes
from cpcm.store.layout import CONFIG, CPCM_DIR, POLICY


def _need_oversight(ctx: Context, what: str, command: str, rule: str, rel: str | None = None, set_with: str = "") -> None:
    """Refused unless the worker is a supervisor or manager. `rel`: the file the command puts in
    place; where this copy of it differs from the last commit (changed or broken by hand), the
    refusal says so and how anyone puts back the committed one, which needs no role (`_committed`):
    a supervisor's command on another copy cannot reach this file. `set_with`: the command that
    takes a FILE (`form set FILE --kind KIND`)."""
    if not ctx.need_worker().has_role(*OVERSIGHT):
        hint = f"Ask one to run cpcm {command}."
        if rel and ctx.store.restorable(rel):
            hint = (f"{rel} on this copy differs from the last commit (changed by hand); anyone puts back the one the last "
                    f"commit holds, which changes nothing: git -C {ctx.root} checkout HEAD -- {rel} (or git -C {ctx.root} "
                    f"show HEAD:{rel} > FILE, then cpcm {set_with or command + ' FILE'}). To change it: {hint}")
        raise Refused(f"only a supervisor or manager changes {what}", hint, rule=rule)


@writes
def policy_set(ctx: Context, text: str, name: str = "FILE") -> dict:
    """`text` (a policy file, comments and all, read through the input gate: `cli.common.read_input`)
    as .cpcm/policy.yaml, once it is valid as `cpcm policy check` checks it. `name`: the file as its
    errors name it, `FILE` (never the path typed), or .cpcm/policy.yaml when it is the one in place."""
    from cpcm.store import policies

    def need_oversight() -> None:
        _need_oversight(ctx, "the agency's rules", "policy set", rule="policy-set-needs-supervisor", rel=POLICY)

    held = _committed(ctx, [(POLICY, text.encode("utf-8"))])
    if not held:  # a change needs the role (asked before the file is checked); putting back the committed file does not: `_committed`
        need_oversight()
    policy = policies.with_override(ctx.config.policy, text, name, ctx.root)
    changed = sorted(key for key, origin in policy.origins.items() if not origin.startswith("profile"))
    message = "policy set: " + (", ".join(changed) if changed else "the profile as shipped")
    config = _listed(ctx, policy, ctx.config)
    files = [(POLICY, text.encode("utf-8"))] + ([(CONFIG, config_bytes(config))] if config != ctx.config else [])
    listed_now = [c for c, at in config.reportable_since.items() if ctx.config.reportable_since.get(c) != at]
    if held and len(files) > 1:  # the committed policy, but the config it lists changes: a change
        need_oversight()
    commit, put_back = _put_all(ctx, files, "policy-set", message, committed=held if len(files) == 1 else None)
    return {"profile": policy.profile, "changed": changed, "notes": list(policy.notes),
            "reportable_since": dict(config.reportable_since), "listed_now": listed_now,
            "commit": commit, "put_back": put_back}


def _listed(ctx: Context, after, config):
    """`config` with when each concern of the `after` policy's `mandatory_report.concerns` became
    reportable (`reportable_since`, workflow/mandatory_report.py `listings`), against the rules in
    force until now: one newly listed from now, one listed before as it was, one no longer listed
    dropped."""
    from cpcm.store import policies
    from cpcm.workflow import mandatory_report as rules

    def listed(policy) -> list[str]:
        return [str(c) for c in policy.get("mandatory_report", "concerns", None) or ()]

    try:  # the rules as committed (a .cpcm/policy.yaml edited by hand and committed by `cpcm policy set` lists anew)
        committed = ctx.store.read_committed(POLICY)
        before = listed(policies.with_override(ctx.config.policy, committed.decode("utf-8"), POLICY) if committed
                        else policies.load(ctx.config.policy))
    except (InvalidInput, Corrupt, UnicodeDecodeError):  # the committed override does not read: what the profile and the config list
        before = listed(policies.load(ctx.config.policy)) + list(ctx.config.reportable_since)
    times = rules.listings(before, listed(after), ctx.config.reportable_since, clock.iso(ctx.now))
    return replace(config, reportable_since=times)


def _committed(ctx: Context, files: list[tuple[str, bytes]]) -> bool:
    """Whether the last commit holds each (rel, raw) as it is. Putting such files in place changes
    no setting and makes no commit (at most a copy changed by hand since is put back: `_put_all`),
    so anyone may: a caseworker whose own copy of .cpcm/policy.yaml or of a form is broken, which
    stops her commands, mends it so; a supervisor's `policy set` on another copy cannot reach it,
    and a sync leaves it as it is. Only a change needs a supervisor or manager."""
    return all(ctx.store.read_committed(rel) == raw for rel, raw in files)


def _put_all(ctx: Context, files: list[tuple[str, bytes]], verb: str, message: str,
             committed: bool | None = None) -> tuple[str | None, bool]:
    """Each (rel, raw) as a plain file, in one commit: (the commit, False); (None, ...) when the
    last commit holds them all as they are already. A copy on disk changed by hand since (a
    .cpcm/policy.yaml broken so that every command stops, mended with the file committed:
    workflow.md) is then put back as that commit has it, with no commit: there is nothing to
    commit, and (None, True) says a copy was put back (the one changed by hand is gone).
    `committed`: `_committed(ctx, files)` where the caller knows it already."""
    if _committed(ctx, files) if committed is None else committed:
        edited = [(rel, raw) for rel, raw in files if not ctx.store.is_committed(rel)]
        if edited:
            with transaction(ctx, verb) as tx:  # not committed: its files end as the last commit has them
                for rel, raw in edited:
                    tx.replace_file(rel, raw)
        return None, bool(edited)
    with transaction(ctx, verb) as tx:
        for rel, raw in files:
            tx.replace_file(rel, raw)
        return tx.commit(message), False


@writes
def form_set(ctx: Context, kind: str, text: str) -> dict:
    """`text` (a form definition, read through the input gate) as the agency's form `kind`,
    .cpcm/forms/<kind>.yaml, once it makes a form (laid over the one it `extends:`) as the commands that use it read it."""
    from cpcm.store import forms

    if not isinstance(kind, str) or not forms.NAME.fullmatch(kind):
        _need_oversight(ctx, "the agency's forms", "form set", rule="form-set-needs-supervisor")
        raise UsageError("the form's name: lower-case letters, digits, '-' or '_' (the file's name, or --kind)",
                         "For example: cpcm form set registration.yaml")
    files = [(f"{CPCM_DIR}/forms/{kind}.yaml", text.encode("utf-8"))]
    held = _committed(ctx, files)
    if not held:  # putting back the form the last commit holds: anyone (`_committed`)
        _need_oversight(ctx, "the agency's forms", "form set", rule="form-set-needs-supervisor", rel=files[0][0],
                        set_with=f"form set FILE --kind {kind}")
    form = forms.check_text(kind, text, ctx.root)
    commit, put_back = _put_all(ctx, files, "form-set", f"form set {kind}", committed=held)
    return {"form": kind, "fields": len(form.fields), "commit": commit, "put_back": put_back}


@writes
def config_set(ctx: Context, key: str, value: str) -> dict:
    """One setting of .cpcm/config.yaml (`CONFIG_KEYS`), once the value is checked: a known IANA
    time zone, a language documents can be written in, a profile the agency's policy override
    fits, an agency name on one line. A profile is set with when it took effect (`policy_since`,
    now): what the rules that run from the start count from (workflow/conferences.py `cadence_due`).
    `before` is the value it had (None for the agency's name: a name typed is not repeated)."""
    from cpcm.render.env import languages
    from cpcm.service.team import check_policy_name
    from cpcm.store import policies

    _need_oversight(ctx, "the repository's settings", "config set", rule="config-set-needs-supervisor")
    if key not in CONFIG_KEYS:
        raise UsageError(f"KEY: one of {', '.join(CONFIG_KEYS)}", "The other settings are made by cpcm init and do not change.")
    value = value.strip()
    if key == "timezone":
        try:
            clock.check_zone_name(value, "timezone")
        except UsageError:
            from zoneinfo import available_timezones

            same = [name for name in available_timezones() if name.lower() == value.lower()]  # typed in the wrong case
            raise InvalidInput([FieldError("timezone", "is not a known IANA time zone name " + (
                f"(did you mean {same[0]}?)" if same else "(e.g. Africa/Nairobi, UTC)"))], "time zone") from None
        changed = replace(ctx.config, timezone=value)
    elif key == "language":
        known = sorted(languages(ctx.root))
        if value not in known:
            raise InvalidInput([FieldError("language", f"is one of: {', '.join(known)} (a catalog for another: docs/translating.md)")],
                               "language")
        changed = replace(ctx.config, language=value)
    elif key == "policy":
        check_policy_name(value)
        after = policies.load(value, ctx.root)  # the agency's override must fit the new profile: InvalidInput names what does not
        changed = replace(ctx.config, policy=value, policy_since=clock.iso(ctx.now))  # when its rules took effect
        if value != ctx.config.policy:  # a concern the new profile lists that was not listed is reportable from now
            changed = _listed(ctx, after, changed)
    else:
        if not value or not value.isprintable() or len(value) > 120:
            raise InvalidInput([FieldError("agency.name", "is required: one line of text, at most 120 characters" if not value
                                            else "must be one line of text, at most 120 characters")], "agency name")
        changed = replace(ctx.config, agency_name=value)
    before = {"timezone": ctx.config.timezone, "language": ctx.config.language, "policy": ctx.config.policy,
              "agency.name": ctx.config.agency_name}[key]
    commit = None if value == before else _put_all(ctx, [(CONFIG, config_bytes(changed))], "config-set", f"config set {key}")[0]
    return {"key": key, "before": before if key != "agency.name" else None, "commit": commit}
