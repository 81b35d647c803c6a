"""The digests of cpcm's code that tag what the local cache keeps (store/codeprint.py): each covers
every module the code it names runs, found from the import statements, and nothing else of cpcm,
so a release that changes the fold or the rules never leaves a value of the old code in use, and
one that changes something they do not run does not make the tables again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cpcm.store import codeprint

PACKAGE = Path(codeprint.__file__).resolve().parent.parent

FINGERPRINTS = """
import json
from cpcm.service import context, lookup, tables, views
from cpcm.service import listrow
print(json.dumps({
    "fold": context.fold_fingerprint(),
    "due and statistics": tables.code_fingerprint(),
    "duplicates index": lookup.fingerprint(),
    "list rows": listrow.row_code(),
    "views": views._code_fingerprint(),
}))
"""


def test_imported__every_form_of_import_is_read():
    source = b'''"""A docstring."""
from __future__ import annotations

import json, cpcm.workflow.fold as fold_rules
from cpcm.domain.case import Case
from cpcm.workflow import (
    deadlines,  # the rules
    intervals as iv,
)
from cpcm.errors import Corrupt, CannotDecrypt


def later():
    from cpcm.reports.statistics import case_rows
    import cpcm.domain.dates
'''
    assert codeprint.imported(source) == {
        "cpcm", "cpcm.domain", "cpcm.workflow", "cpcm.reports", "cpcm.errors", "cpcm.workflow.fold", "cpcm.domain.case",
        "cpcm.workflow.deadlines", "cpcm.workflow.intervals", "cpcm.reports.statistics", "cpcm.domain.dates"}


def test_closure__holds_every_module_the_fold_runs(tmp_path):
    """What importing the fold loads (in a fresh process) is all in its digest."""
    out = subprocess.run([sys.executable, "-c", "import sys, cpcm.workflow.fold; "
                          "print('\\n'.join(m for m in sys.modules if m == 'cpcm' or m.startswith('cpcm.')))"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert "cpcm.domain.dates" in out and "cpcm.workflow.transfers" in out
    assert set(out) <= set(codeprint.closure("cpcm.workflow.fold"))


def test_imported__no_module_of_cpcm_imports_relatively():
    """The digests read imports by full name: a relative one would be a dependency they miss."""
    relative = [path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py")
                if any(line.lstrip().startswith("from .") for line in path.read_text().splitlines())]
    assert relative == []


def test_closure__names_a_missing_module():
    with pytest.raises(ValueError, match="not a module of cpcm"):
        codeprint.closure("cpcm.workflow.no_such_rules")


def _fingerprints(top: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(top), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", FINGERPRINTS], cwd=top, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """A copy of the package per change below (and one unchanged), each fingerprinted in its own process."""
    changes = ["domain/dates.py", "workflow/transfers.py", "workflow/deadlines.py", "workflow/duplicates.py",
               "workflow/cover.py", "domain/text.py", "service/listrow.py", "store/layout.py"]
    found = {}
    for change in [None, *changes]:
        top = tmp_path_factory.mktemp("package")
        shutil.copytree(PACKAGE, top / "cpcm", ignore=shutil.ignore_patterns("__pycache__"))
        if change is not None:
            with open(top / "cpcm" / change, "a") as file:
                file.write("\n# a release changed this file\n")
        found[change] = _fingerprints(top)
    return found


@pytest.mark.parametrize("change, moved", [
    # the fold imports these (records' dates, the transfer's state): its summaries are made again
    ("domain/dates.py", {"fold", "due and statistics", "duplicates index", "list rows", "views"}),
    ("workflow/transfers.py", {"fold", "duplicates index", "views"}),
    # the deadlines: the due and statistics tables and the views, not the summaries
    ("workflow/deadlines.py", {"due and statistics", "views"}),
    ("workflow/duplicates.py", {"duplicates index"}),
    ("workflow/cover.py", {"views"}),  # the due view's cover rules
    ("store/layout.py", {"views"}),  # and the covers it reads from a case's recipients file
    ("service/listrow.py", {"list rows", "views"}),
    # run by none of them: nothing is made again
    ("domain/text.py", set()),
])
def test_digest__moves_with_what_the_cached_values_are_made_by(copies, change, moved):
    before, after = copies[None], copies[change]
    assert {name for name in before if before[name] != after[name]} == moved


def test_the_index_entries_are_made_by_code_the_folds_digest_covers():
    """The cache's index table (each case's fields the duplicate and caseload checks read,
    `case_index`) is tagged with the fold's fingerprint alone (store/cache.py SummaryCache): the
    code that makes its entries must be among what that digest covers, or a release that changes
    them leaves entries of the old code in use."""
    from cpcm.service import context, fill

    index = next(table for table in fill.TABLES if table.name == "index")
    assert index.tag is None  # the summary cache's fingerprint: `fold_fingerprint`
    assert context.case_index.__module__ in codeprint.closure("cpcm.workflow.fold")
