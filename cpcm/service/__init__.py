"""The service layer: one function per verb. Open the repository, load, decide, write, commit.

Scripts use it as the library API: `from cpcm import service; ctx = service.open_repo(root,
identity); service.register(ctx, data)`. The library raises `CpcmError`s and returns values;
it never prints or exits (the CLI does).

- `context`: the session (`Context`, `open_repo`) and the public helpers every module shares;
- one module per command group: `team`, `cases`, `planning`, `referrals`, `followups`,
  `closure`, `reintegration` (readiness, tracing, family assessment, preparation), `placements`, `mandatory_reports`,
  `conferences`, `supervision`, `transfers`, `documents` (render), `worklist` (due, check,
  policy show), `settings` (policy set, form set, config set), `integrity` (verify), `evacuation` (evacuate), `retaining` (retention), `outputs` (outputs list, outputs remove: the register
  of plaintext files cpcm wrote), `reports` (report, export);
- `results`: what a writing function returns.

One name per verb from the command line to here: `cpcm approve` is `service.approve`, `cpcm show`
`service.show`, `cpcm referral` `service.referral`. Where the verb is a Python keyword or builtin
it takes PEP 8's trailing underscore: `cpcm list` is `service.list_`, `cpcm continue`
`service.continue_`. A group's sub-commands are `group_verb` (`team_add`, `service_import`,
`key_new`), except a case conference's, reached through their module:
`service.conferences.new(ctx, ...)` for `cpcm conference new` (and a supervision session's,
`service.supervision.record(ctx, ...)` for `cpcm supervision record`).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names below are; imported on first use (`__getattr__`), not at start-up
    from cpcm.service import completion, conferences, supervision
    from cpcm.service.cases import (SHORT_FORMS, LogEntry, assign, assign_batch, assign_cover, assign_from_worker, assign_keyworker, case_summary, correct, find_record, list_, list_rows, log, note,
                                    records_text, register, repair, show, sibling_fields, link_siblings, update,
                                    validate_registration)
    from cpcm.service.closure import close, close_withdraw, continue_, reopen, sign_off, unfinished
    from cpcm.service.conferences import parse_conference_id
    from cpcm.service.documents import Document, document_names, render
    from cpcm.service.evacuation import evacuate
    from cpcm.service.retaining import retention
    from cpcm.service.outputs import outputs_list, outputs_remove
    from cpcm.service.context import (ASSESSMENT_FORMS, Context, append, case_content, caseload_warnings, check_readable, check_writable, commit_email, form_for,
                                      keys_for, load_case, load_cases, load_records, locked, new_record, open_repo, parse_case_id, read_case,
                                      readers_for, recipients_bytes, reencrypt, transaction, validate_form, writes)
    from cpcm.service.followups import followup, review, review_batch
    from cpcm.service.imports import import_cases, import_template
    from cpcm.service.integrity import verify
    from cpcm.service.misfiled import correct_misfiled
    from cpcm.service.mandatory_reports import mandatory_report
    from cpcm.service.placements import placement
    from cpcm.service.reintegration import family_assessment, preparation, readiness, tracing
    from cpcm.service.planning import approve, assess, plan, plan_current, plan_revise, plan_withdraw, reject
    from cpcm.service.referrals import (check_consent, check_referable, consent, consent_override, consent_override_each, refer, referral,
                                        referral_writable, service_add, service_gaps, service_get, service_import, service_update)
    from cpcm.service.reports import MAX_RETURN_BYTES, Exported, Report, export, report, report_combine, report_return
    from cpcm.service.results import Written
    from cpcm.service.settings import config_set, form_set, policy_set
    from cpcm.service.team import (init, key_new, key_publish, key_rotate, key_rotate_own, key_show, key_signing, lock, team_add,
                                   team_cadre, team_list, team_recover, team_remove, team_revoke, team_signers, team_sync, unlock, unlocked_for)
    from cpcm.service.transfers import bundle_recipients, receive, transfer, transfer_ack, transfer_batch, transfer_withdraw
    from cpcm.service.worklist import check, due, due_list, policy_rows, team_lists

__all__ = [
    # the session
    "Context", "open_repo", "writes", "locked", "transaction", "new_record", "append", "read_case", "reencrypt", "readers_for", "keys_for", "recipients_bytes",
    "check_readable", "check_writable", "load_records", "load_case", "load_cases", "case_content", "parse_case_id", "form_for", "validate_form",
    "caseload_warnings", "commit_email", "ASSESSMENT_FORMS",
    # results
    "Written", "LogEntry",
    # keys, repository, team
    "key_new", "key_show", "key_signing", "key_publish", "key_rotate", "key_rotate_own", "team_recover", "team_revoke", "team_signers",
    "unlock", "lock", "unlocked_for", "evacuate", "outputs_list", "outputs_remove", "init", "config_set", "team_add", "team_cadre", "team_remove", "team_sync", "team_list",
    "import_cases", "import_template",
    # cases
    "validate_registration", "register", "sibling_fields", "link_siblings", "assign", "assign_batch", "assign_cover", "assign_from_worker", "assign_keyworker", "show", "case_summary", "list_", "list_rows", "log", "note", "update", "check_updatable", "correct",
    "correct_misfiled", "repair", "find_record", "records_text", "SHORT_FORMS",
    # assessing and planning
    "assess", "plan", "plan_current", "plan_revise", "plan_withdraw", "approve", "reject",
    # consent, the directory, referrals
    "consent", "consent_override", "consent_override_each", "check_consent", "service_add", "service_import", "service_get", "service_gaps", "service_update", "refer",
    "check_referable", "referral", "referral_writable",
    # following up, closing
    "followup", "review", "review_batch", "readiness", "unfinished", "close", "close_withdraw", "sign_off", "reopen", "continue_", "retention",
    # placements and the steps of reintegration
    "placement", "tracing", "family_assessment", "preparation",
    # mandatory reporting
    "mandatory_report",
    # conferences, transfers
    "conferences", "parse_conference_id", "supervision", "transfer", "transfer_batch", "transfer_withdraw", "receive", "transfer_ack", "bundle_recipients",
    # documents
    "render", "Document", "document_names",
    # due, rules, verify, exports
    "due", "due_list", "team_lists", "check", "policy_rows", "policy_set", "form_set", "verify", "report", "report_return", "report_combine", "MAX_RETURN_BYTES", "export", "Report", "Exported",
]

# each name above -> the module that defines it: a command imports only the modules it uses
# (`cpcm show` does not pay for the reports, sync or conference code at every start)
_MODULES = {
    "completion": None, "conferences": None, "parse_conference_id": "conferences", "supervision": None,
    **dict.fromkeys(("SHORT_FORMS", "LogEntry", "assign", "assign_batch", "assign_cover", "assign_from_worker", "assign_keyworker", "case_summary", "correct", "find_record", "list_", "list_rows", "log",
                     "note", "records_text", "register", "repair", "show", "update", "check_updatable", "validate_registration", "sibling_fields",
                     "link_siblings"), "cases"),
    **dict.fromkeys(("close", "close_withdraw", "continue_", "reopen", "sign_off", "unfinished"), "closure"),
    **dict.fromkeys(("Document", "document_names", "render"), "documents"),
    **dict.fromkeys(("ASSESSMENT_FORMS", "Context", "append", "case_content", "caseload_warnings", "check_readable", "check_writable", "commit_email",
                     "form_for", "keys_for", "load_case", "load_cases", "load_records", "locked", "new_record", "open_repo",
                     "parse_case_id", "read_case", "readers_for", "recipients_bytes", "reencrypt", "transaction", "validate_form",
                     "writes"), "context"),
    **dict.fromkeys(("followup", "review", "review_batch"), "followups"),
    **dict.fromkeys(("import_cases", "import_template"), "imports"),
    "verify": "integrity", "correct_misfiled": "misfiled", "evacuate": "evacuation", "retention": "retaining", "outputs_list": "outputs", "outputs_remove": "outputs", "placement": "placements", "mandatory_report": "mandatory_reports",
    **dict.fromkeys(("family_assessment", "preparation", "readiness", "tracing"), "reintegration"),
    **dict.fromkeys(("approve", "assess", "plan", "plan_current", "plan_revise", "plan_withdraw", "reject"), "planning"),
    **dict.fromkeys(("check_consent", "check_referable", "consent", "consent_override", "consent_override_each", "refer", "referral",
                     "referral_writable", "service_add", "service_gaps", "service_get", "service_import", "service_update"), "referrals"),
    **dict.fromkeys(("MAX_RETURN_BYTES", "Exported", "Report", "export", "report", "report_combine", "report_return"), "reports"),
    "Written": "results",
    **dict.fromkeys(("init", "key_new", "key_publish", "key_rotate", "key_rotate_own", "key_show", "key_signing", "lock", "team_add",
                     "team_cadre", "team_list", "team_recover", "team_remove", "team_revoke", "team_signers", "team_sync", "unlock", "unlocked_for"),
                    "team"),
    **dict.fromkeys(("bundle_recipients", "receive", "transfer", "transfer_ack", "transfer_batch", "transfer_withdraw"), "transfers"),
    **dict.fromkeys(("check", "due", "due_list", "team_lists", "policy_rows"), "worklist"),
    **dict.fromkeys(("config_set", "form_set", "policy_set"), "settings"),
}


def __getattr__(name: str) -> Any:
    """A name of the service API, imported from its module on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module 'cpcm.service' has no attribute {name!r}")
    module = importlib.import_module(f"cpcm.service.{_MODULES[name] or name}")
    value = module if _MODULES[name] is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))
