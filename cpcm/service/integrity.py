"""Checking the repository: cpcm verify."""
from __future__ import annotations


from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.service.context import Context
from cpcm.store.layout import CASES, CONFIG, RECIPIENTS, SERVICES, SUFFIX, TEAM
from cpcm.workflow import rules


REENCRYPTING = ("assign ", "team add ", "team remove ", "team sync ", "receive ")


def verify(ctx: Context) -> list[rules.Problem]:
    """Every file decrypts for its readers (as far as your key can tell), is a valid record in
    the right place, and matches the history: nothing uncommitted, and no record file changed
    after it was added except by a re-encryption."""
    me = ctx.need_worker()
    problems: list[rules.Problem] = []

    def add(code: str, message: str, case_id: str | None = None) -> None:
        problems.append(rules.Problem(code, "error", message, "format", "docs/case-format.md", case_id))

    for rel in ctx.store.git.dirty([CASES, "conferences", TEAM, SERVICES, CONFIG]):
        add("uncommitted-change", f"{rel} differs from the last commit (an interrupted write, or an edit by hand)")
    touched: dict[str, list[str]] = {}  # record file -> messages of the commits that touched it, newest first
    for commit in ctx.store.git.log([CASES]):
        for path in commit.files:
            if path.endswith(SUFFIX):
                touched.setdefault(path, []).append(commit.message)
    for path, messages in touched.items():
        if any(not m.startswith(REENCRYPTING) for m in messages[:-1]):
            add("record-rewritten", f"{path} was changed after it was written (records are append-only; only re-encryption may touch them)")
    unreadable = 0
    for case_id in ctx.store.case_ids():
        readers = ctx.store.recipients(case_id)
        if not readers:
            add("recipients-missing", f"cases/{case_id}/{RECIPIENTS} is missing or empty", case_id)
            continue
        unknown = [r for r in readers if ctx.team.get(r, include_removed=True) is None]
        if unknown:
            add("recipient-not-in-team", f"cases/{case_id}/{RECIPIENTS} names workers who are not in the team", case_id)
        if me.id not in readers:
            unreadable += 1
            continue
        for path in ctx.store.record_files(case_id):
            try:
                ctx.store.read_file(path, ctx.keys)
            except (Corrupt, CannotDecrypt) as exc:
                add("record-unreadable", exc.message, case_id)
    return problems
