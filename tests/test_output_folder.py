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


@pytest.mark.parametrize("args", [
    ["render", "case-file", "{case}", "--out", "-"],
    ["render", "case-file", "{case}", "-o", "-", "--format", "html"],
    ["report", "caseload", "--format", "md", "--out", "-"],
    ["report", "statistics", "--format", "csv", "-o", "-"],
    ["form", "print", "registration", "--out", "-"],
])
def test_out_dash_prints_to_standard_output_as_without_out(cli, repo, tmp_path, monkeypatch, args):
    """`--out -` is standard output, as the convention goes: the command prints what it prints
    without --out (no file named '-' is written, encrypted or not, and nothing is committed)."""
    case_id = register(cli)
    before = head(repo)
    monkeypatch.chdir(tmp_path)
    given = [a.format(case=case_id) for a in args]
    done = cli(*given)
    assert done.code == 0, (done.code, done.stderr)
    without = cli(*[a for n, a in enumerate(given) if not (a in ("--out", "-o") or (n and given[n - 1] in ("--out", "-o")))])
    assert without.code == 0 and done.stdout == without.stdout and done.stdout.strip()
    assert not (tmp_path / "-").exists()
    assert head(repo) == before


@pytest.mark.parametrize("args", [
    ["render", "case-file", "{case}", "--out", "-", "--plaintext"],
    ["render", "case-file", "{case}", "--out", "-", "--recipient", "sup"],
    ["report", "caseload", "--out", "-", "--plaintext"],
])
def test_out_dash_with_an_option_for_a_file_says_it_needs_a_file(cli, repo, tmp_path, monkeypatch, args):
    case_id = register(cli)
    monkeypatch.chdir(tmp_path)
    done = cli(*[a.format(case=case_id) for a in args], "--json")
    assert done.code == 2, (done.code, done.stderr)
    assert "needs --out FILE" in done.json()["message"]
    assert list(tmp_path.glob("-")) == []


@pytest.mark.parametrize("args, option", [
    (["export", "--format", "csv", "--recipient", "sup", "--out", "-"], "--out"),
    (["export", "--format", "csv", "--plaintext", "-o", "-"], "--out"),
    (["transfer", "{case}", "--to", "clinic", "--reason", "moved", "--out", "-"], "--out"),
    (["transfer", "--batch", "--to", "clinic", "--reason", "moved", "--out-dir", "-"], "--out-dir"),
    (["receive", "{home}/bundle.age", "--receipt", "-"], "--receipt"),
    (["bundle", "create", "-"], "FILE"),
    (["due", "--ics", "-"], "--ics"),
    (["import", "template", "--out-dir", "-"], "--out-dir"),
    (["key", "new", "--no-passphrase", "--out", "-"], "--out"),
])
def test_out_dash_for_a_command_that_only_writes_a_file_is_refused(cli, repo, tmp_path, monkeypatch, args, option):
    """A command whose output is only ever a file (an export, a bundle, a receipt, a calendar, an
    identity...) refuses `-` with exit 2 and a hint to give a file name: nothing is written, no
    file or folder named '-' is made, nothing is committed."""
    case_id = register(cli)
    before = head(repo)
    monkeypatch.chdir(tmp_path)
    done = cli(*[a.format(case=case_id, home=tmp_path) for a in args], "--json")
    assert done.code == 2, (done.code, done.stderr)
    assert done.json()["message"].startswith(f"{option} -: this command writes a file, not standard output"), done.json()
    assert "Give a file name" in done.json()["hint"]
    assert not (tmp_path / "-").exists()
    assert head(repo) == before


@pytest.mark.parametrize("args", [
    ["export", "--plaintext", "--out", "{folder}/cases.csv.age"],
    ["report", "caseload", "--plaintext", "--out", "{folder}/caseload.csv.age"],
    ["render", "case-file", "{case}", "--plaintext", "--out", "{folder}/file.md.age"],
    ["form", "print", "review", "--out", "{folder}/blank.html.AGE"],
    ["due", "--ics", "{folder}/due.ics.age"],
])
def test_a_readable_file_named_as_an_encrypted_one_is_refused_and_nothing_is_written(cli, repo, tmp_path, args):
    """A file written unencrypted under `cases.csv.age` would be taken for an age-encrypted file, safe
    to pass on, while anyone can read it: refused (exit 2) before anything is written, the name
    never repeated; without .age it is written. Was: written, exit 0."""
    case_id = register(cli)
    folder = tmp_path / "out"
    folder.mkdir()
    done = cli(*[a.format(folder=folder, case=case_id) for a in args])
    assert done.code == 2, (done.code, done.stderr)
    said = done.stderr
    assert "ends in .age is taken for an age-encrypted file" in said and "Leave .age off the name" in said, said
    assert str(folder) not in said and "cases" not in said and list(folder.iterdir()) == []
    plain = [a[:-len(".age")] if a.lower().endswith(".age") else a for a in args]
    written = cli(*[a.format(folder=folder, case=case_id) for a in plain])
    assert written.code == 0, (written.code, written.stderr)
    assert len(list(folder.iterdir())) == 1


def test_a_readable_file_named_as_an_encrypted_one_is_refused_before_a_case_is_read(cli, repo, tmp_path, monkeypatch):
    """`export --plaintext` and `report --plaintext` to a name ending in .age are refused before any case is
    read (at 100,000 cases an export reads every one), as an encrypted file named as a readable one is."""
    from cpcm.service import context

    register(cli)
    monkeypatch.setattr(context, "_load_cases", lambda *a, **k: (_ for _ in ()).throw(AssertionError("cases read")))
    for args in (["export", "--plaintext", "--out", f"{tmp_path}/cases.csv.age"],
                 ["report", "timeliness", "--plaintext", "--out", f"{tmp_path}/t.md.age"],
                 ["report", "statistics", "--out", f"{tmp_path}/s.md.age"]):
        done = cli(*args)
        assert done.code == 2 and "ends in .age is taken for an age-encrypted file" in done.stderr, (args, done.stderr)
