"""Every `show` of one thing answers the same situation with the same exit code (docs/exit-codes.md):
a case (`cpcm show`), a conference, a supervision session, a complaint and a strictly confidential
entry. An ID of none there: 3 (not found). One there that you do not read: 5 (not allowed to
read). One whose `recipients` file was deleted by hand while the last commit holds it: 7 (corrupt
on disk, naming the file and how to restore it), not 3: it is there, and `git checkout` brings it
back. Nothing is written, and no message holds what the records say."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, git, head, register
from test_conference import new_conference
from cpcm.store.layout import CASES, CONFERENCES, folder_rel


def _case(amina, sup) -> tuple[str, str]:
    return CASES, register(amina)


def _conference(amina, sup) -> tuple[str, str]:
    return CONFERENCES, new_conference(sup)


def _session(amina, sup) -> tuple[str, str]:
    done = sup("supervision", "record", "--no-input", "--json", "--worker", "amina", "--kind", "support",
               "--discussed", f"the plan of {CANARY}", "--at", "2026-11-01T10:00")
    assert done.code == 0, done.stderr
    return "supervision", done.json()["session_id"]


def _complaint(amina, sup) -> tuple[str, str]:
    case_id = register(amina)
    done = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "otieno",
                 "--concerns", "staff_conduct", "--case", case_id, "--summary", f"says {CANARY}")
    assert done.code == 0, done.stderr
    return "complaints", done.json()["complaint_id"]


def _entry(amina, sup) -> tuple[str, str]:
    case_id = register(amina)
    done = sup("confidential", "add", case_id, "--text", f"the child named {CANARY}", "--json")
    assert done.code == 0, done.stderr
    return "confidential", done.json()["entry_id"]


SHOWS = {  # the command, what makes one, an ID of that kind that no repository holds (its check character right)
    "case": (("show",), _case, "CP-0000-0000"),
    "conference": (("conference", "show"), _conference, "CC-0000-0000"),
    "supervision": (("supervision", "show"), _session, "SV-0000-0000"),
    "complaint": (("complaint", "show"), _complaint, "CM-0000-0000"),
    "confidential": (("confidential", "show"), _entry, "SC-0000-0000"),
}


@pytest.mark.parametrize("kind", list(SHOWS))
def test_show__not_found_3_not_a_reader_5_readers_file_deleted_by_hand_7(cli_as, repo, kind):
    command, make, absent = SHOWS[kind]
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    top, folder_id = make(amina, sup)
    assert sup(*command, folder_id).code == 0  # its reader reads it
    assert sup(*command, absent, "--json").json()["exit_code"] == 3, kind  # a well-formed ID of none there

    refused = otieno(*command, folder_id)  # there, and not otieno's to read (neither the case's worker nor a supervisor)
    assert refused.code == 5, (kind, refused.stderr)
    assert "otieno" in refused.stderr and CANARY not in refused.stderr

    before = head(repo)
    rel = f"{folder_rel(top, folder_id)}/recipients"
    (repo / rel).unlink()  # deleted by hand: the last commit holds it
    for cli in (sup, otieno):
        damaged = cli(*command, folder_id)
        assert damaged.code == 7, (kind, damaged.code, damaged.stderr)
        assert f"{rel} is missing" in damaged.stderr and f"git checkout HEAD -- {rel}" in damaged.stderr, damaged.stderr
        assert "no " + kind not in damaged.stderr and CANARY not in damaged.stderr
    as_json = json.loads(sup(*command, folder_id, "--json").stdout)
    assert as_json["exit_code"] == 7 and as_json["path"] == rel, as_json
    assert head(repo) == before and not (repo / rel).exists()  # nothing written, nothing put back behind the worker's back

    git(repo, "checkout", "HEAD", "--", rel)  # the restore the message gives
    assert sup(*command, folder_id).code == 0
