"""A complaint, and its response, corrected (`cpcm complaint record --corrects`, `cpcm complaint
respond --corrects`): a new record that supersedes the one standing, with a reason; `show`, `list`
and the case's flag read the corrected values, the history keeps the original; refused with the
field named and nothing written without a reason; only a reader who may (the recorder or a
supervisor or manager not named in it; a response: the latter) corrects; what it says never in a
message, a commit message or a file name."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, git, register
from test_privacy import files_with_marker, git_log_patch, git_objects, leaks


def _recorded(amina, wrong_case: str) -> tuple[str, str]:
    """A complaint about otieno recorded with a wrong case, a wrong setting and a typo in its summary: (its ID, its record)."""
    done = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "otieno",
                 "--concerns", "staff_conduct", "--case", wrong_case, "--summary", f"shoutted at, says {CANARY}")
    assert done.code == 0, done.stderr
    return done.json()["complaint_id"], done.json()["record_id"]


def _flags(cli, case_id: str) -> list[str]:
    return [c["complaint_id"] for c in cli("show", case_id, "--json").json()["complaints"]]


def test_complaint_correct__the_case_and_a_typo_corrected_shown_listed_and_flagged_the_original_kept(cli_as, repo):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    wrong, right = register(amina), register(amina)
    complaint_id, original = _recorded(amina, wrong)
    assert _flags(sup, wrong) == [complaint_id]
    said: list[str] = []  # every message of the commands that write or are refused: never what the complaint says

    # without a reason: refused, the field named, nothing written
    before = commit_count(repo)
    refused = amina("complaint", "record", "--corrects", complaint_id, "--case", right)
    said.append(refused.stdout + refused.stderr)
    assert refused.code == 4 and "reason:" in refused.stderr and "nothing" in refused.stderr.lower(), refused.stderr
    # who it is about cannot be changed by a correction (its readers follow it); nor is a correction that changes nothing
    about = amina("complaint", "record", "--corrects", complaint_id, "--about-worker", "sup", "--reason", "wrong worker")
    same = amina("complaint", "record", "--corrects", complaint_id, "--setting", "residential", "--reason", "x", "--json")
    said += [about.stdout + about.stderr, same.stdout + same.stderr]
    assert about.code == 4 and "about-worker:" in about.stderr, about.stderr
    assert same.code == 4 and json.loads(same.stdout or same.stderr)["rule"] == "nothing-to-correct"
    # the worker it is about reads nothing of it, and corrects nothing
    theirs = otieno("complaint", "record", "--corrects", complaint_id, "--case", right, "--reason", "x")
    said.append(theirs.stdout + theirs.stderr)
    assert theirs.code == 5 and complaint_id not in theirs.stdout, theirs.stderr
    assert commit_count(repo) == before

    # the recorder corrects the case, the setting and the typo: one commit, IDs only
    fixed = amina("complaint", "record", "--corrects", complaint_id, "--case", right, "--setting", "family",
                  "--summary", f"shouted at, says {CANARY}", "--reason", "the brother's case; a typo", "--json")
    said.append(fixed.stderr)
    assert fixed.code == 0, fixed.stderr
    record = fixed.json()["record_id"]
    assert fixed.json()["kind"] == "complaint" and commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%an %s").strip() == f"amina complaint correct {complaint_id} {record}"
    assert any(right in w and wrong in w for w in fixed.json()["warnings"]), fixed.json()

    shown = sup("complaint", "show", complaint_id, "--json").json()
    assert shown["case"] == right and shown["setting"] == "family" and shown["summary"] == f"shouted at, says {CANARY}"
    assert shown["about_workers"] == ["otieno"] and shown["recorded_by"] == "amina" and shown["record_id"] == record
    assert [(h["record_id"], h.get("supersedes"), h.get("reason")) for h in shown["history"]] == [
        (original, None, None), (record, original, "the brother's case; a typo")]
    listed = sup("complaint", "list", "--json").json()
    assert [(c["complaint_id"], c["case"], c["setting"]) for c in listed] == [(complaint_id, right, "family")]
    assert f"corrects {original}" in sup("complaint", "show", complaint_id).stdout
    # the case's flag moved with it: off the wrong child's case, on the right one's
    assert _flags(sup, wrong) == [] and _flags(sup, right) == [complaint_id] and _flags(amina, right) == [complaint_id]
    assert (repo / "complaints" / complaint_id / "recipients").read_text().splitlines()[1:] == ["amina", "sup"]

    # the response: only a supervisor or manager not named in it corrects it
    responded = sup("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", f"apolgy to {CANARY}", "--json")
    assert responded.code == 0, responded.stderr
    first = responded.json()["record_id"]
    before = commit_count(repo)
    caseworker = amina("complaint", "respond", complaint_id, "--corrects", "--outcome", "not_upheld", "--reason", "x", "--json")
    no_reason = sup("complaint", "respond", complaint_id, "--corrects", "--response", "apology")
    said += [caseworker.stdout + caseworker.stderr, no_reason.stdout + no_reason.stderr]
    assert caseworker.code == 4 and json.loads(caseworker.stdout or caseworker.stderr)["rule"] == "complaint-needs-responder"
    assert no_reason.code == 4 and "reason:" in no_reason.stderr, no_reason.stderr
    assert commit_count(repo) == before
    again = sup("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", "y")
    said.append(again.stderr)
    assert again.code == 4 and "--corrects" in again.stderr  # a second response is refused, and says how to correct it
    mended = sup("complaint", "respond", complaint_id, "--corrects", "--outcome", "partly_upheld", "--response",
                 f"apology to {CANARY}", "--reason", "outcome and typo", "--json")
    said.append(mended.stderr)
    assert mended.code == 0, mended.stderr
    assert mended.json()["kind"] == "complaint_response" and commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"complaint correct {complaint_id} {mended.json()['record_id']}"
    shown = sup("complaint", "show", complaint_id, "--json").json()
    assert shown["status"] == "resolved" and shown["response"]["outcome"] == "partly_upheld"
    assert shown["response"]["response"] == f"apology to {CANARY}" and shown["response"]["by"] == "sup"
    assert shown["case"] == right and shown["summary"] == f"shouted at, says {CANARY}"  # the complaint as corrected still
    assert [(h["kind"], h.get("supersedes")) for h in shown["history"]] == [
        ("complaint", None), ("complaint", original), ("complaint_response", None), ("complaint_response", first)]
    assert amina("complaint", "list", "--status", "resolved", "--json").json()[0]["case"] == right

    # what it says: never in a message, a commit message, a file name, nor on disk in plaintext
    for text in said:
        assert CANARY.split()[0].lower() not in text.lower() and CANARY.split()[1].lower() not in text.lower(), text
    assert not leaks(git(repo, "log", "--all", "--format=%an %s %b", binary=True))
    assert not leaks(git(repo, "ls-files", binary=True))
    assert files_with_marker(repo) == []
    assert not leaks(git_objects(repo)) and not leaks(git_log_patch(repo))
    assert sup("verify").code == 0


def test_complaint_correct__nothing_to_correct_and_no_response_yet(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    complaint_id, _ = _recorded(amina, register(amina))
    before = commit_count(repo)
    none_given = amina("complaint", "record", "--corrects", complaint_id, "--reason", "x")
    assert none_given.code == 2 and "no field was given" in none_given.stderr, none_given.stderr
    no_response = sup("complaint", "respond", complaint_id, "--corrects", "--outcome", "upheld", "--reason", "x")
    assert no_response.code == 3 and "no response" in no_response.stderr, no_response.stderr
    reason_alone = amina("complaint", "record", "--from", "child", "--setting", "family", "--summary", "s", "--reason", "x")
    assert reason_alone.code == 2 and "--corrects" in reason_alone.stderr
    # unlinking the case: --case "" (by the supervisor, who did not record it)
    unlinked = sup("complaint", "record", "--corrects", complaint_id, "--case", "", "--reason", "no case")
    assert unlinked.code == 0, unlinked.stderr
    assert commit_count(repo) == before + 1
    assert sup("complaint", "show", complaint_id, "--json").json()["case"] is None


def test_complaint_correct__a_reason_typed_as_the_hint_shows_it_is_refused(cli_as, repo):
    """`--reason ...` typed as the hint shows it is no reason, as everywhere else (`said`): refused, the
    field named, nothing written; for the complaint and for its response."""
    amina, sup = cli_as("amina"), cli_as("sup")
    complaint_id, _ = _recorded(amina, register(amina))
    assert sup("complaint", "respond", complaint_id, "--outcome", "upheld", "--response", "apology").code == 0
    before = commit_count(repo)
    for placeholder in ("...", "\u2026", " ... "):
        record = amina("complaint", "record", "--corrects", complaint_id, "--setting", "family", "--reason", placeholder)
        response = sup("complaint", "respond", complaint_id, "--corrects", "--outcome", "not_upheld", "--reason", placeholder)
        for refused in (record, response):
            assert refused.code == 4 and "reason: is required" in refused.stderr, refused.stderr
    assert commit_count(repo) == before
    assert amina("complaint", "record", "--corrects", complaint_id, "--setting", "family", "--reason", "a slip").code == 0
