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
