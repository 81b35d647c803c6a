"""export --cpims: cpcm's values as Kenya's CPIMS list codes, the table in docs/cpims-mapping.md
the same as the code's, and the export's consent rules as for every export."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from cpcm.domain.case import Case
from cpcm.reports import export as export_mod

DOC = Path(__file__).resolve().parents[1] / "docs" / "cpims-mapping.md"


def doc_table(title: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return {k: v for k, v in re.findall(r"^\| ([a-z0-9_]+) \| ([A-Z]{4,5}) \|$", section, re.M) if k != "cpcm"}


@pytest.mark.pure
@pytest.mark.parametrize("title, table", [
    ("sex_id", export_mod.CPIMS_SEX), ("risk_level_id", export_mod.CPIMS_RISK),
    ("cci_exits", export_mod.CPIMS_CCI_EXITS),
    ("case_category_id from cpcm's concerns", export_mod.CPIMS_CONCERNS)])
def test_the_docs_list_every_code_the_export_writes(title, table):
    assert doc_table(title) == table


@pytest.mark.pure
def test_the_docs_give_every_closure_reason_of_the_profiles_the_code_the_export_writes():
    """Form 9A has four reasons; every closure reason of the shipped profiles is in the docs' table
    with the code the export writes for it (CCOTH where none is closer: not_eligible and
    no_concerns among them), and cpcm's own reason stays beside the code."""
    from cpcm.store.policies import load as load_profile

    reasons = {r for profile in ("inter-agency", "kenya") for r in load_profile(profile).closure_reasons}
    assert {"not_eligible", "no_concerns"} <= reasons
    exported = {}
    for reason in reasons:
        row = export_mod.cpims_row(Case(id="X"), {"closure_reason": reason}, {})
        assert row["cpcm_closure_reason"] == reason
        exported[reason] = row["case_closure_reason"]
    assert doc_table("case_closure_reasons (Form 9A)") == exported
    assert exported["not_eligible"] == exported["no_concerns"] == export_mod.CPIMS_CLOSURE_OTHER == "CCOTH"
    assert {code for reason, code in exported.items() if code != "CCOTH"} == {"CCCPA", "CCDEA", "CCCTR"}


@pytest.mark.pure
def test_national_categories_come_first_and_nothing_is_guessed():
    case = Case(id="CP-AAAA-BBBB", registration={"case_categories": ["orphaned", "neglect"]},
                placements=({"at": "2026-01-01T00:00:00+00:00", "record_id": "1", "cci_exit": None},
                            {"at": "2026-05-01T00:00:00+00:00", "record_id": "2", "cci_exit": "family_reintegration"}))
    values = {"case_id": case.id, "sex": "other", "risk": "immediate", "concerns": ["neglect", "psychosocial_distress"],
              "closure_reason": "declined", "stage": "closed"}
    row = export_mod.cpims_row(case, values, {"orphaned": "CIDC", "neglect": "CSIC"})
    assert row["case_category_id"] == ["CIDC", "CSIC"] and row["cpcm_concerns"] == ["neglect", "psychosocial_distress"]
    assert row["sex_id"] is None and row["cpcm_sex"] == "other"
    assert row["risk_level_id"] == "RLHG" and row["case_nature_emergency"] is True
    assert row["case_closure_reason"] == "CCOTH" and row["cpcm_closure_reason"] == "declined"
    assert row["cci_exit"] == "CEFR" and row["cpcm_stage"] == "closed"
    plain = export_mod.cpims_row(Case(id="X"), {"concerns": ["psychosocial_distress", "neglect"], "sex": "female"}, {})
    assert plain["case_category_id"] == ["CSIC"] and plain["sex_id"] == "SFEM" and plain["cci_exit"] is None


@pytest.mark.pure
def test_the_national_codes_of_the_kenya_form_are_cpims_codes():
    from cpcm.store import forms

    codes = forms.codes("registration-kenya")["case_category"]
    assert len(codes) == 43 and codes["abandoned"] == "CDIS" and codes["orphaned"] == "CIDC"


@pytest.mark.e2e
def test_cli__export_cpims_with_the_export_rules(cli, cli_as, tmp_path):
    from conftest import register

    register(cli, concerns=["neglect"])
    out = tmp_path / "cpims.csv"
    done = cli("export", "--format", "csv", "--cpims", "--plaintext", "--out", str(out))
    assert done.code == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["sex_id"] == "SFEM" and rows[0]["case_category_id"] == "CSIC" and rows[0]["risk_level_id"] == "RLHG"
    assert "name" not in rows[0] and "cpcm_name" not in rows[0]  # no identifying field without --fields and consent
    both = cli("export", "--format", "csv", "--cpims", "--primero", "--plaintext", "--out", str(tmp_path / "x.csv"))
    assert both.code == 2
    named = cli("export", "--format", "csv", "--cpims", "--fields", "case_id,name", "--plaintext", "--out", str(tmp_path / "n.csv"))
    assert named.code == 2 and "--agency" in named.stderr  # identifying fields need consent for sharing, as for every export
