"""Two cases of one child, one of them closed, linked with `cpcm merge-cases KEEP OTHER` (OTHER is
merged into KEEP, where the work on the child goes on): the post-closure visit is the child's
case's (deadlines.post_closure_visit_owed). OTHER, closed before the merge or after it, owes
none: `cpcm due`, `cpcm check` and the timeliness report leave it out; KEEP, when it is the
closed one, keeps its own (docs/commands/sync.md#cpcm-merge-cases)."""
from __future__ import annotations

from conftest import register

LATER = "2026-11-24T09:00:00+03:00"
MONTHS_ON = "2027-03-01T09:00:00+03:00"  # past the 3 months of the post-closure visit


def child() -> dict:
    return {"name": "Same Child", "sex": "male", "date_of_birth": "2013-05-05"}


def close(cli_as, case_id: str, reason: str = "registered_in_error", *checks: str) -> str:
    """Closed by amina, approved by sup; what the approval says next."""
    asked = cli_as("amina", CPCM_NOW=LATER)("close", case_id, "--reason", reason, "--check", "all", *checks)
    assert asked.code == 0, asked.stderr
    approved = cli_as("sup", CPCM_NOW=LATER)("approve", case_id, "closure")
    assert approved.code == 0, approved.stderr
    return approved.stderr


def visits(cli_as, worker: str = "amina", *args: str) -> list[str]:
    """The cases whose post-closure visit `cpcm due` lists (the next 120 days)."""
    listed = cli_as(worker, CPCM_NOW=LATER)("due", "--within", "120", "--json", *args)
    assert listed.code == 0, listed.stderr
    return [item["case_id"] for item in listed.json() if item["code"] == "post-closure-visit"]


def timeliness_visits(cli_as) -> dict:
    report = cli_as("sup", CPCM_NOW=MONTHS_ON)("report", "timeliness", "--from", "2026-11-01", "--to", "2027-02-28", "--json")
    assert report.code == 0, report.stderr
    return next(c for c in report.json()["clocks"] if c["clock"] == "post_closure_visit")


def test_merge_cases__a_closed_duplicate_merged_into_the_childs_case_leaves_its_visit_off_due(cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    keep, other = register(amina, child=child()), register(amina, child=child())
    close(cli_as, other, "declined")
    assert visits(cli_as) == [other]  # the closed duplicate's visit, before anyone knew it was one
    merged = cli_as("sup", CPCM_NOW=LATER)("merge-cases", keep, other)
    assert merged.code == 0, merged.stderr
    # the child's case goes on in KEEP, open: no visit is due anywhere, and KEEP's own items stand
    assert visits(cli_as) == [] and visits(cli_as, "sup", "--worker", "all") == []
    due = cli_as("amina", CPCM_NOW=LATER)("due", "--within", "120", "--json").json()
    assert {item["case_id"] for item in due} == {keep}
    assert [i["code"] for i in cli_as("amina", CPCM_NOW=LATER)("show", other, "--json").json()["due"]] == []
    checked = cli_as("sup", CPCM_NOW=MONTHS_ON)("check", "--json")
    assert not [p for p in checked.json() if p.get("case_id") == other], checked.stdout
    clock = timeliness_visits(cli_as)
    assert clock["started"] == 0 and clock["overdue"] == 0
    assert f"{other} is closed: no post-closure visit is due on it any more, the child's case being {keep}" in merged.stderr
    assert sup("verify").code == 0


def test_merge_cases__a_duplicate_closed_after_the_merge_owes_no_visit_the_closed_childs_case_does(cli_as):
    amina = cli_as("amina")
    keep, other = register(amina, child=child()), register(amina, child=child())
    close(cli_as, keep, "declined")  # the child's case was closed; a second one was opened by mistake
    assert visits(cli_as) == [keep]
    merged = cli_as("sup", CPCM_NOW=LATER)("merge-cases", keep, other)
    assert merged.code == 0, merged.stderr
    assert visits(cli_as) == [keep]  # the child's case is KEEP: its visit stands
    said = close(cli_as, other)  # as merge-cases tells: the open duplicate is closed as registered in error
    assert visits(cli_as) == [keep]
    clock = timeliness_visits(cli_as)
    assert clock["started"] == 1 and clock["overdue"] == 1  # KEEP's, not made
    assert f"{other} is closed; it was merged into {keep}, the child's case, so no post-closure visit is due on it" in said
    assert "a post-closure visit is due" not in said
    assert "when that case is closed" not in said  # KEEP is closed already: its visit follows its own closure
    assert f"the visit is {keep}'s, after that case's own closure" in said


def test_a_closed_case_is_not_nominated_for_a_conference_and_the_refusal_names_the_childs_case(cli_as):
    """Closing a conference puts its actions into each case's plan, which a closed case takes no more: its
    nomination was taken, its minutes too, and the close was then refused with no way on. Now the nomination is
    refused, naming the case the work on the child goes on in (merged), or the reopening."""
    from test_conference import new_conference

    amina, sup = cli_as("amina", CPCM_NOW=LATER), cli_as("sup", CPCM_NOW=LATER)
    keep, other = register(amina, child=child()), register(amina, child=child())
    alone = register(amina)
    close(cli_as, other)
    close(cli_as, alone, "declined")
    assert sup("merge-cases", keep, other).code == 0
    conf = new_conference(sup)
    merged = sup("conference", "add-case", conf, other, "--reason", "especially_difficult", "--json")
    assert merged.code == 4 and merged.json()["rule"] == "conference-case-not-open", merged.stdout
    assert merged.json()["hint"].startswith(f"The work on the child goes on in {keep}: nominate that case")
    closed = sup("conference", "add-case", conf, alone, "--reason", "especially_difficult", "--json")
    assert closed.code == 4 and f"cpcm reopen {alone}" in closed.json()["hint"]
    assert sup("conference", "add-case", conf, keep, "--reason", "especially_difficult").code == 0


def test_a_registration_names_the_childs_case_once_not_each_case_merged_into_it(cli_as, monkeypatch):
    """The child registered three times, two of them merged into the first (one closed as registered in error), then
    registered again: one warning, for the child's case, naming the cases merged into it; not one per alias, and not
    'reopen' the closed alias (nothing is merged into a case merged away: docs/commands/sync.md#cpcm-merge-cases)."""
    import json

    from conftest import library_session, registration
    from cpcm import service
    from cpcm.service import lookup

    amina, sup = cli_as("amina", CPCM_NOW=LATER), cli_as("sup", CPCM_NOW=LATER)
    keep, closed, other = (register(amina, child=child()) for _ in range(3))
    close(cli_as, closed)
    for alias in (closed, other):
        assert sup("merge-cases", keep, alias).code == 0
    expected = [{"case_id": keep, "reason": "same or similar name and the same birth year", "status": "open",
                 "through": sorted([closed, other])}]
    again = amina("register", "--from-file", "-", input=json.dumps(registration(child=child())))
    assert again.code == 0, again.stderr
    warned = [line for line in again.stderr.splitlines() if "possible duplicate" in line]
    assert warned == [f"warning: possible duplicate of {keep} (same or similar name and the same birth year; "
                      f"{', '.join(sorted([closed, other]))} were merged into it); check before working on both; if it is "
                      f"the same child, a supervisor or manager links them: cpcm merge-cases {keep} "
                      f"{again.stdout.split()[-1]}"], again.stderr
    expected.append({"case_id": again.stdout.split()[-1], "reason": expected[0]["reason"], "status": "open"})
    for usable in (True, False):  # the split index, and every case read
        if not usable:
            monkeypatch.setattr(lookup, "usable", lambda ctx: False)
        written = service.register(library_session(amina), registration(child=child()))
        assert sorted(written.extra["possible_duplicates"], key=lambda d: d["case_id"]) == sorted(
            expected, key=lambda d: d["case_id"]), usable
        expected.append({**expected[-1], "case_id": written.subject_id})


def test_reopening_a_case_merged_into_another_names_the_childs_case(cli_as):
    """A case merged into another and closed as registered in error, reopened: written, with a warning that the
    child's work goes on in the case it was merged into, and, that one being closed, that it is the one to reopen."""
    amina, sup = cli_as("amina", CPCM_NOW=LATER), cli_as("sup", CPCM_NOW=LATER)
    keep, other = register(amina, child=child()), register(amina, child=child())
    close(cli_as, keep, "declined")
    close(cli_as, other)
    assert sup("merge-cases", keep, other).code == 0
    reopened = amina("reopen", other, "--reason", "new report", "--json")
    assert reopened.code == 0, reopened.stderr
    assert reopened.json()["warnings"] == [
        f"{other} was merged into {keep}, the child's case: the work on the child goes on in {keep}, and nothing is "
        f"merged into {other} again; {keep} is closed: if the child needs the service again, reopen that one instead "
        f"(cpcm reopen {keep} --reason ...)"]
    assert amina("reopen", keep, "--reason", "new report", "--json").json()["warnings"] == []


def test_reopening_a_case_merged_into_another_sends_the_next_steps_to_the_childs_case(cli_as):
    """The next: lines of a reopening of a case merged into another name the case the child's work goes on in (to
    reopen where it is closed, then assess and plan there), and the closing again of the case reopened; not
    'cpcm assess ALIAS' and 'cpcm plan ALIAS', which sent the work to the alias (sync.md: nothing is merged into it)."""
    amina, sup = cli_as("amina", CPCM_NOW=LATER), cli_as("sup", CPCM_NOW=LATER)
    keep, other = register(amina, child=child()), register(amina, child=child())
    close(cli_as, keep, "declined")
    close(cli_as, other)
    assert sup("merge-cases", keep, other).code == 0
    reopened = amina("reopen", other, "--reason", "new report", "--json")
    assert reopened.code == 0, reopened.stderr
    steps = reopened.json()["next_steps"]
    assert not [step for step in steps if f"cpcm assess {other}" in step or f"cpcm plan {other}" in step], steps
    assert steps[0].startswith(f"the clocks restart on {other}: initial assessment within ")
    assert steps[0].endswith(f"until it is closed again: cpcm close {other} --reason registered_in_error --check error_confirmed")
    assert steps[1] == (f"the work on the child goes on in {keep}, which is closed: reopen it (cpcm reopen {keep} --reason "
                        f"...), then assess the child again (cpcm assess {keep} --type initial, then --type comprehensive) "
                        f"and write a new plan: cpcm plan {keep} --from-file F, reason after_reopening")
    assert amina("reopen", keep, "--reason", "new report").code == 0
    close(cli_as, other)
    again = amina("reopen", other, "--reason", "another report", "--json").json()["next_steps"]
    assert again[1] == f"the work on the child goes on in {keep}: assess and plan there (cpcm show {keep})"
    # the steps it gives are taken: the alias closed again as registered in error
    assert close(cli_as, other) is not None


def test_a_registration_names_the_childs_case_merged_into_even_when_the_worker_cannot_read_it(cli_as, monkeypatch):
    """The child's case is otieno's (amina cannot read it); amina's registration of the child was merged into it; amina
    registers the child again: the warning names the child's case, as the alias's link names it (register.md: its
    merged_into followed), with a merge-cases line that is not refused. Before, it named the alias amina reads, and
    its merge-cases line was refused (merge-cases-merged-away)."""
    import json

    from conftest import library_session, registration
    from cpcm import service
    from cpcm.service import lookup

    amina, sup = cli_as("amina", CPCM_NOW=LATER), cli_as("sup", CPCM_NOW=LATER)
    keep = register(cli_as("otieno", CPCM_NOW=LATER), child=child())
    alias = register(amina, child=child())
    assert sup("merge-cases", keep, alias).code == 0
    assert amina("show", keep).code != 0  # not amina's to read
    again = amina("register", "--from-file", "-", input=json.dumps(registration(child=child())))
    assert again.code == 0, again.stderr
    new = again.stdout.split()[-1]
    warned = [line for line in again.stderr.splitlines() if "possible duplicate" in line]
    assert warned == [f"warning: possible duplicate of {keep} (same or similar name and the same birth year; {alias} was "
                      f"merged into it); check before working on both; if it is the same child, a supervisor or manager "
                      f"links them: cpcm merge-cases {keep} {new}"], again.stderr
    assert sup("merge-cases", keep, new).code == 0  # the line it gives is taken
    for usable in (True, False):  # the split index, and every case read
        if not usable:
            monkeypatch.setattr(lookup, "usable", lambda ctx: False)
        written = service.register(library_session(amina), registration(child=child()))
        assert [d for d in written.extra["possible_duplicates"] if d["case_id"] == keep] == [
            {"case_id": keep, "reason": "same or similar name and the same birth year", "status": None,
             "through": sorted([alias, new])}], usable
