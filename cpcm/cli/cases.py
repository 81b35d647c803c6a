"""cpcm show / list / log / assign: reading cases and their audit trail."""
from __future__ import annotations

from typing import Optional

import typer

from cpcm.cli.common import (AtOpt, IdentityOpt, JsonOpt, RepoOpt, open_ctx, parse_at, print_json, print_table, report_problems,
                             say, warn)


def register(app: typer.Typer) -> None:
    register_verify(app)

    @app.command("show")
    def show(case: str = typer.Argument(..., help="Case ID, e.g. CP-4F7K-9X2M."), repo: RepoOpt = None, identity: IdentityOpt = None,
             json_out: JsonOpt = False) -> None:
        """The case as it stands: child, stage, risk, worker and its records.

        Example: cpcm show CP-4F7K-9X2M
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        data = service.show(ctx, service.parse_case_id(case))
        if json_out:
            print_json(data)
            return
        child, plan, items = data["child"], data["plan"], data["due"]
        rows = [
            ("case", data["case_id"]), ("name", data["name"]), ("sex", data["sex"]), ("age", data["age"]),
            ("date of birth", child.get("date_of_birth") or "(estimated from age)"),
            ("location", data["location"]), ("caregiver", data["caregiver_name"]), ("status", data["status"]),
            ("stage", data["stage"]), ("risk", data["risk"]), ("worker", data["worker"]),
            ("registered", (data["registered_at"] or "")[:16]), ("concerns", ", ".join(data["concerns"])),
            ("records", len(data["history"])),
        ]
        if plan:
            state = ("in force (approved)" if plan.get("approved_at") else "rejected: a new version is needed" if plan.get("rejected_at")
                     else "waiting for a supervisor's approval")
            rows.append(("plan", f"version {plan['version']} ({plan.get('reason')}), {state}"))
            content = plan["content"] or {}
            for goal in content.get("goals", []):
                rows.append((f"goal {goal.get('id')}", f"[{goal.get('term')}] {goal.get('goal')}"))
            for number, action in enumerate(content.get("actions", []), start=1):
                linked = [r["ref"] for r in data["referrals"] if r.get("plan_action") == number]
                rows.append((f"action {number}", f"{action.get('what')} ({action.get('who')}, by {action.get('by')}, {action.get('mode')})"
                             + (f" → referral {', '.join(linked)}" if linked else "")))
        for ref in data["referrals"]:
            trail = " → ".join(f"{h['status']} {h['at'][:10]}" for h in ref["history"])
            rows.append((f"referral {ref['ref']}", f"{ref['service']}: {ref['status']} ({trail})"))
        for entry in data["assessments"]:
            line = f"{entry['at'][:10]} by {entry['by']}" + (f", risk {entry['risk']}" if entry.get("risk") else "")
            if entry.get("changed"):
                line += "; changed since the previous one: " + ", ".join(c["field"] for c in entry["changed"])
            rows.append((f"{entry['type']} assessment", line))
            if entry.get("readiness"):
                ready = entry["readiness"]
                scores = ", ".join(f"{d['domain']} {d['score']}/{d['maximum']}{'' if d['passed'] else ' (below ' + str(d['pass_mark']) + ')'}"
                                   for d in ready["domains"])
                verdict = "ready for closure" if ready["ready_for_closure"] else "not ready: " + "; ".join(ready["reasons"])
                rows.append(("readiness", f"{scores}: {verdict}"))
        if data.get("readiness"):
            from cpcm.service.reintegration import words

            rows.append(("readiness (latest)", words(data["readiness"])))
        print_table(["field", "value"], rows, title=f"Case {data['case_id']}")
        if items:
            print_table(["due", "what", "state", "why"],
                        [[i["due"][:16].replace("T", " "), i["title"], i["state"], f"{i['why']} ({i['source']})"] for i in items],
                        title="Due")

    @app.command("list")
    def list_(
        status: Optional[str] = typer.Option(None, "--status", help="open, closed or transferred."),
        risk: Optional[str] = typer.Option(None, "--risk", help="immediate, high, medium or low."),
        worker: Optional[str] = typer.Option(None, "--worker", help="Only this worker's cases."),
        stage: Optional[str] = typer.Option(None, "--stage", help="Only cases at this stage."),
        names: bool = typer.Option(False, "--names", help="Include children's names (off by default)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """One line per case you can read; no names unless --names.

        Example: cpcm list --risk high --worker amina
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        cases = service.list_(ctx, status=status, risk=risk, worker=worker, stage=stage)
        today = ctx.now.date()
        rows = [service.case_summary(c, today, names) for c in cases]
        if json_out:
            print_json(rows)
        else:
            columns = ["case_id", "status", "stage", "risk", "worker", "sex", "age", "registered_at"] + (["name"] if names else [])
            print_table([c.replace("_", " ") for c in columns],
                        [[r[c] if c != "registered_at" else (r[c] or "")[:10] for c in columns] for r in rows],
                        title=f"{len(rows)} case(s)")
        report_problems(ctx)

    @app.command("log")
    def log(case: str = typer.Argument(..., help="Case ID."), repo: RepoOpt = None, identity: IdentityOpt = None,
            json_out: JsonOpt = False) -> None:
        """The audit trail of a case: every record, who made it, when, and the commit behind it.

        Example: cpcm log CP-4F7K-9X2M
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        entries = service.log(ctx, service.parse_case_id(case))
        if json_out:
            print_json([e.to_json() for e in entries])
            return
        print_table(["at", "kind", "by", "record", "recorded", "commit"],
                    [[e.at[:16], e.kind, e.by, e.record_id, e.recorded_at[:16], (e.commit or "uncommitted")[:10]] for e in entries])

    @app.command("assign")
    def assign(case: str = typer.Argument(..., help="Case ID."), worker: str = typer.Option(..., "--worker", help="The worker's id."),
               at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Assign a case to a worker (the case is re-encrypted so they can read it).

        Example: cpcm assign CP-4F7K-9X2M --worker otieno
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        result = service.assign(ctx, case_id, worker, parse_at(at))
        for message in result.warnings:
            warn(message)
        if json_out:
            print_json(result.to_json())
        else:
            say(f"{case_id} assigned to {worker}")


def register_verify(app: typer.Typer) -> None:
    @app.command("verify")
    def verify(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Check the repository: every record you can read decrypts and is valid; nothing is
        uncommitted (policy and config included); git's objects are whole; records were only
        added (or re-encrypted), by their own worker, to their readers' keys; no plaintext file
        was ever committed; the history below the last verified commit is unchanged. Exit 1
        when something is wrong (the codes: docs/commands/cases.md).

        Example: cpcm verify
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        problems = service.verify(ctx)
        if json_out:
            print_json([p.to_json() for p in problems])
        else:
            print_table(["code", "case", "problem"], [[p.code, p.case_id or "", p.message] for p in problems],
                        title=f"{len(problems)} problem(s)")
        if problems:
            raise typer.Exit(1)
