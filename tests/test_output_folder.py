"""A file the user asks for is written only into a folder that exists: a mistyped folder is not
made, so that case data never lands where nobody looks for it (plaintext least of all)."""
from __future__ import annotations

import pytest

from conftest import head, register

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("args", [
    ["export", "--format", "csv", "--plaintext", "--out", "{missing}/cases.csv"],
    ["export", "--format", "csv", "--recipient", "sup", "--out", "{missing}/cases.csv.age"],
    ["render", "case-file", "{case}", "--out", "{missing}/file.md.age"],
    ["report", "caseload", "--out", "{missing}/caseload.md.age"],
    ["bundle", "create", "{missing}/office.bundle"],
    ["transfer", "{case}", "--to", "clinic", "--reason", "moved", "--out", "{missing}/bundle.age"],
])
def test_an_output_in_a_folder_that_does_not_exist_is_refused_and_no_folder_is_made(cli, repo, tmp_path, args):
    case_id = register(cli)
    before = head(repo)
    missing = tmp_path / "no-such-folder" / "below"
    done = cli(*[a.format(missing=missing, case=case_id) for a in args], "--json")
    assert done.code == 2, (done.code, done.stderr)
    assert "the folder it names does not exist" in done.json()["message"]
    assert not (tmp_path / "no-such-folder").exists()
    assert head(repo) == before


@pytest.mark.parametrize("args", [
    ["report", "caseload", "--out", "{folder}/caseload.csv"],
    ["report", "timeliness", "--format", "html", "--out", "{folder}/timeliness.html"],
    ["report", "statistics", "--recipient", "sup", "--out", "{folder}/q3.md"],  # shareable: encrypted only with --recipient
    ["export", "--format", "csv", "--recipient", "sup", "--out", "{folder}/cases.csv"],
    ["render", "case-file", "{case}", "--out", "{folder}/file.html"],
])
def test_an_encrypted_file_named_as_a_readable_document_is_refused_and_nothing_is_written(cli, repo, tmp_path, args):
    """Ciphertext under caseload.csv opens as garbage in a spreadsheet: every command that writes an
    encrypted --out file refuses a readable document's name (exit 2), before any work, and says
    the two ways out; with --plaintext, or the name ending in .age, it writes."""
    case_id = register(cli)
    folder = tmp_path / "out"
    folder.mkdir()
    done = cli(*[a.format(folder=folder, case=case_id) for a in args], "--json")
    assert done.code == 2, (done.code, done.stderr)
    said = done.json()["message"] + " " + done.json()["hint"]
    assert "opens as a readable document" in said and ".age" in said and "--plaintext" in said
    # what a readable file would hold, as the report page says: the caseload and timeliness reports hold no child's data
    holds = "workers' names and how each is doing" if args[1] in ("caseload", "timeliness") else "personal data"
    assert f"unencrypted and holds {holds}" in said, said
    assert list(folder.iterdir()) == []
    renamed = [a + ".age" if a.startswith("{folder}") else a for a in args]
    written = cli(*[a.format(folder=folder, case=case_id) for a in renamed], "--json")
    assert written.code == 0, (written.code, written.stderr)
    assert len(list(folder.iterdir())) == 1


def test_a_readable_name_is_fine_for_a_plaintext_or_shareable_file(cli, repo, tmp_path):
    register(cli)
    assert cli("report", "statistics", "--out", str(tmp_path / "q3.html"), "--json").code == 0  # holds no case-level data
    assert cli("report", "caseload", "--plaintext", "--out", str(tmp_path / "caseload.csv"), "--json").code == 0
